"""Secrets providers: one interface, one module per backend, a factory from settings."""

from __future__ import annotations

from pathlib import Path

from providers.secrets.base import CachedSecrets, Secrets
from providers.secrets.env import EnvSecrets
from shared.errors import ConfigError
from shared.settings import ENV_SECRETS, Settings

__all__ = ["BACKENDS", "CachedSecrets", "EnvSecrets", "Secrets", "secrets_for"]

BACKENDS = ("env", "keyvault", "aws", "gcp")


def secrets_for(settings: Settings, secrets_dir: Path | None = None) -> Secrets:
    """The secret store `settings.secrets_backend` names. `secrets_dir` is the local folder
    of the `env` backend (default: `settings.secrets_dir`, else `.secrets`)."""
    backend = settings.secrets_backend
    options = {"prefix": settings.secrets_prefix, "ttl": settings.secrets_ttl}
    # Each cloud SDK is imported only when its store is chosen: a function's cold start
    # should not load the other two.
    if backend == "env":
        folder = secrets_dir or settings.secrets_dir or Path(".secrets")
        return EnvSecrets(settings.environ, secrets_dir=folder)
    if backend == "keyvault":
        from providers.secrets.keyvault import KeyVaultSecrets

        return KeyVaultSecrets(settings.keyvault_url, **options)
    if backend == "aws":
        from providers.secrets.aws import AwsSecrets

        return AwsSecrets(settings.environ, **options)
    if backend == "gcp":
        from providers.secrets.gcp import GcpSecrets

        return GcpSecrets(settings.gcp_project, **options)
    raise ConfigError(
        f"unknown secrets backend {backend!r}",
        hint=f"set {ENV_SECRETS} to one of {', '.join(BACKENDS)}",
    )
