"""secrets_for: the store LAKEHOUSE_SECRETS names, built from settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from providers.secrets import BACKENDS, EnvSecrets, secrets_for
from providers.secrets.aws import AwsSecrets
from shared.errors import ConfigError
from shared.settings import PACKAGE_ROOT, Settings

VALUE = "s3cr3t-value-never-shown"


def test_env_is_the_default(tmp_path: Path) -> None:
    settings = Settings.from_env({"PII_HASH_KEY": VALUE})
    chosen = secrets_for(settings, tmp_path / "secrets")
    assert isinstance(chosen, EnvSecrets)
    assert chosen.get("pii-hash-key") == VALUE
    assert chosen.description.endswith(f"{tmp_path / 'secrets'}/")


def test_env_falls_back_to_the_settings_folder(tmp_path: Path) -> None:
    (tmp_path / "pii-hash-key").write_text(VALUE)
    settings = Settings.from_env({"LAKEHOUSE_SECRETS_DIR": str(tmp_path)})
    assert secrets_for(settings).get("pii-hash-key") == VALUE


def test_cloud_stores_get_the_prefix_and_ttl() -> None:
    settings = Settings.from_env(
        {
            "LAKEHOUSE_SECRETS": "aws",
            "LAKEHOUSE_SECRETS_PREFIX": "prod/",
            "LAKEHOUSE_SECRETS_TTL": "30",
            "AWS_REGION": "eu-central-1",
        }
    )
    store = secrets_for(settings)
    assert isinstance(store, AwsSecrets)
    assert (store.prefix, store.ttl, store.region) == ("prod/", 30.0, "eu-central-1")
    assert repr(store) == (
        "AwsSecrets(AWS Secrets Manager (region eu-central-1), prefix='prod/', ttl=30.0)"
    )


def test_an_unknown_backend_names_the_setting_and_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        secrets_for(Settings.from_env({"LAKEHOUSE_SECRETS": "vault"}))
    assert info.value.message == "unknown secrets backend 'vault'"
    assert info.value.hint == "set LAKEHOUSE_SECRETS to one of env, keyvault, aws, gcp"
    assert BACKENDS == ("env", "keyvault", "aws", "gcp")


def test_the_env_backend_loads_no_cloud_sdk() -> None:
    """A function on the default backend does not pay the cloud SDKs' import time."""
    code = (
        "import sys\n"
        "from providers.secrets import secrets_for\n"
        "from shared.jobs import Platform\n"
        "from shared.settings import Settings\n"
        "secrets_for(Settings.from_env({}))\n"
        "sdks = ('boto3', 'azure.keyvault.secrets', 'azure.identity', "
        "'google.cloud.secretmanager')\n"
        "print(sorted(m for m in sdks if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PACKAGE_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
