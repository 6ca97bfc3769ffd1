"""The default secrets backend: environment, then a .env file, then a folder of secret files."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from providers.secrets import EnvSecrets
from providers.secrets.env import env_var_name
from shared.errors import SecretNotFoundError

VALUE = "s3cr3t-value-never-shown"


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    """A .env file path and a secrets folder, neither created yet."""
    return tmp_path / ".env", tmp_path / ".secrets"


def store(paths: tuple[Path, Path], environ: dict[str, str] | None = None) -> EnvSecrets:
    dotenv, secrets_dir = paths
    return EnvSecrets(environ or {}, dotenv=dotenv, secrets_dir=secrets_dir)


@pytest.mark.parametrize(
    ("name", "var"),
    [("pii-hash-key", "PII_HASH_KEY"), ("openai.api-key", "OPENAI_API_KEY"), ("x", "X")],
)
def test_env_var_name(name: str, var: str) -> None:
    assert env_var_name(name) == var


def test_from_the_environment(paths) -> None:
    assert store(paths, {"PII_HASH_KEY": VALUE}).get("pii-hash-key") == VALUE


def test_from_a_dotenv_file(paths) -> None:
    dotenv, _ = paths
    dotenv.write_text(
        "# local settings\n"
        "\n"
        "OTHER=1\n"
        f'export PII_HASH_KEY="{VALUE}"\n'
        "SINGLE = 'quoted value'\n"
        "URL=postgres://u:p@h/db?a=b\n"
        "not a setting\n"
    )
    secrets = store(paths)
    assert secrets.get("pii-hash-key") == VALUE
    assert secrets.get("single") == "quoted value"
    assert secrets.get("url") == "postgres://u:p@h/db?a=b"


def test_from_the_secrets_folder(paths) -> None:
    _, folder = paths
    folder.mkdir()
    (folder / "pii-hash-key").write_text(VALUE + "\n")
    assert store(paths).get("pii-hash-key") == VALUE


def test_environment_wins_over_dotenv_over_folder(paths) -> None:
    dotenv, folder = paths
    folder.mkdir()
    (folder / "pii-hash-key").write_text("from-folder")
    dotenv.write_text("PII_HASH_KEY=from-dotenv\n")
    assert store(paths, {"PII_HASH_KEY": "from-env"}).get("pii-hash-key") == "from-env"
    assert store(paths).get("pii-hash-key") == "from-dotenv"
    dotenv.unlink()
    assert store(paths).get("pii-hash-key") == "from-folder"


def test_empty_environment_value_falls_through(paths) -> None:
    dotenv, _ = paths
    dotenv.write_text("PII_HASH_KEY=from-dotenv\n")
    assert store(paths, {"PII_HASH_KEY": ""}).get("pii-hash-key") == "from-dotenv"


def test_missing_secret_names_the_secret_and_the_store_but_no_value(paths) -> None:
    dotenv, folder = paths
    folder.mkdir()
    (folder / "other-key").write_text("folder-value-xyz")
    dotenv.write_text("OTHER_KEY=dotenv-value-xyz\n")
    secrets = store(paths, {"OTHER_KEY": "env-value-xyz", "PII_HASH": "near-miss-xyz"})

    with pytest.raises(SecretNotFoundError) as info:
        secrets.get("pii-hash-key")

    error = info.value
    assert (
        error.message == f"secret 'pii-hash-key' not found in environment, {dotenv} and {folder}/"
    )
    assert error.hint == (
        f"set PII_HASH_KEY in the environment or .env, or put it in {folder / 'pii-hash-key'}"
    )
    assert "xyz" not in str(error)
    assert "xyz" not in repr(error)
    assert not error.transient
    assert secrets.description == f"environment, {dotenv} and {folder}/"


def test_empty_secret_file_is_missing(paths) -> None:
    _, folder = paths
    folder.mkdir()
    (folder / "pii-hash-key").write_text("\n")
    with pytest.raises(SecretNotFoundError):
        store(paths).get("pii-hash-key")


def test_create_local_writes_an_owner_only_random_key(paths) -> None:
    _, folder = paths
    secrets = store(paths)
    path = secrets.create_local("pii-hash-key")
    assert path == folder / "pii-hash-key"
    text = path.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", text)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secrets.get("pii-hash-key") == text
    other = store(paths).create_local("another-key")
    assert other.read_text() != text


def test_create_local_refuses_to_overwrite(paths) -> None:
    secrets = store(paths)
    path = secrets.create_local("pii-hash-key")
    before = path.read_text()
    with pytest.raises(FileExistsError):
        secrets.create_local("pii-hash-key")
    assert path.read_text() == before
