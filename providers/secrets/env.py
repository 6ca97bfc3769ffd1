"""Environment backend (the default): environment variables, then a .env file, then a
folder of secret files (one file per secret, like Docker or Kubernetes secrets)."""

from __future__ import annotations

import os
import secrets as token_source
from collections.abc import Mapping
from pathlib import Path

from shared.errors import SecretNotFoundError


def env_var_name(name: str) -> str:
    """`pii-hash-key` -> `PII_HASH_KEY`."""
    return name.upper().replace("-", "_").replace(".", "_")


class EnvSecrets:
    """Secrets from the environment, a `.env` file and a local secrets folder."""

    def __init__(
        self,
        environ: Mapping[str, str],
        *,
        dotenv: Path = Path(".env"),
        secrets_dir: Path = Path(".secrets"),
    ) -> None:
        self._environ = environ
        self._dotenv = dotenv
        self._dir = secrets_dir
        self.description = f"environment, {dotenv} and {secrets_dir}/"

    def get(self, name: str) -> str:
        var = env_var_name(name)
        value = self._environ.get(var) or _read_dotenv(self._dotenv).get(var)
        if value:
            return value
        file = self._dir / name
        if file.is_file():
            content = file.read_text(encoding="utf-8").strip()
            if content:
                return content
        raise SecretNotFoundError(
            f"secret {name!r} not found in {self.description}",
            hint=f"set {var} in the environment or .env, or put it in {file}",
        )

    def create_local(self, name: str) -> Path:
        """Generate a random secret into the secrets folder (owner-only), for a local lake."""
        self._dir.mkdir(parents=True, exist_ok=True)
        file = self._dir / name
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token_source.token_hex(32))
        return file


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values
