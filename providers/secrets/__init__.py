"""Secrets providers: one interface, one module per backend, a factory from settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from providers.secrets.base import Secrets
from providers.secrets.env import EnvSecrets
from shared.errors import ConfigError

__all__ = ["EnvSecrets", "Secrets", "secrets_for"]


def secrets_for(backend: str, environ: Mapping[str, str], secrets_dir: Path) -> Secrets:
    """The configured secret store (`env` is the default; cloud stores come with their
    providers)."""
    if backend == "env":
        return EnvSecrets(environ, secrets_dir=secrets_dir)
    raise ConfigError(
        f"secrets backend {backend!r} is not supported yet",
        hint="set LAKEHOUSE_SECRETS=env",
    )
