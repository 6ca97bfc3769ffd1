"""Settings, built once at an entry point from the environment and passed down.

Every environment variable the platform reads is named here and nowhere else; the
pipeline core takes a `Settings` and never reads `os.environ` itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from shared.errors import ConfigError

DEFAULT_LAKE = "./.lake"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent

ENV_LAKE = "LAKEHOUSE_LAKE"
ENV_CONTRACTS = "LAKEHOUSE_CONTRACTS"
ENV_SECRETS = "LAKEHOUSE_SECRETS"
ENV_SECRETS_DIR = "LAKEHOUSE_SECRETS_DIR"
ENV_SECRETS_PREFIX = "LAKEHOUSE_SECRETS_PREFIX"
ENV_SECRETS_TTL = "LAKEHOUSE_SECRETS_TTL"
ENV_KEYVAULT_URL = "LAKEHOUSE_KEYVAULT_URL"
ENV_GCP_PROJECT = "LAKEHOUSE_GCP_PROJECT"
ENV_GOOGLE_CLOUD_PROJECT = "GOOGLE_CLOUD_PROJECT"
ENV_DUCKDB_MEMORY = "LAKEHOUSE_DUCKDB_MEMORY"
ENV_DUCKDB_THREADS = "LAKEHOUSE_DUCKDB_THREADS"
ENV_DUCKDB_TEMP = "LAKEHOUSE_DUCKDB_TEMP"
ENV_SILVER_CHUNK_ROWS = "LAKEHOUSE_SILVER_CHUNK_ROWS"


@dataclass(frozen=True)
class Settings:
    """Everything a job needs to know about where it runs."""

    lake_url: str = DEFAULT_LAKE
    """Root of the lake: a folder, file://, abfss://, az://, s3:// or gs:// URL."""
    contracts_dir: Path = PACKAGE_ROOT / "contracts"
    """Folder holding one `<table>.yaml` data contract per feed."""
    secrets_backend: str = "env"
    """Where secrets come from: `env` (environment, .env, then the secrets folder),
    `keyvault` (Azure Key Vault), `aws` (AWS Secrets Manager) or `gcp` (GCP Secret Manager)."""
    secrets_dir: Path | None = None
    """Local folder of secret files (one per secret); generated keys go here. Default: a
    `.secrets` folder beside a local lake (never inside it, never committed)."""
    secrets_prefix: str = ""
    """Put before every secret name in a cloud store (`lakehouse-` reads `lakehouse-pii-hash-key`),
    so several lakes can share one store."""
    secrets_ttl: float = 300.0
    """Seconds a value read from a cloud store is reused before it is read again (0: always
    read); a rotated secret is picked up within this time."""
    keyvault_url: str | None = None
    """Vault URL for the `keyvault` backend, e.g. `https://<vault-name>.vault.azure.net/`."""
    gcp_project: str | None = None
    """Project id holding the secrets for the `gcp` backend (default: GOOGLE_CLOUD_PROJECT)."""
    duckdb_memory_limit: str = "2GB"
    """DuckDB memory limit; above it DuckDB spills to `duckdb_temp_dir`."""
    duckdb_threads: int = 0
    """DuckDB worker threads; 0 means one per core."""
    duckdb_temp_dir: str | None = None
    """Where DuckDB spills; default is a temporary folder."""
    silver_chunk_rows: int = 500_000
    """A Silver build reads new Bronze batches this many rows at a time (bounds memory)."""
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """The environment this was built from, for providers that honour SDK variables."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from environment variables; keyword overrides win (None is ignored)."""
        env = dict(os.environ if environ is None else environ)
        settings = cls(
            lake_url=env.get(ENV_LAKE, DEFAULT_LAKE),
            contracts_dir=Path(env.get(ENV_CONTRACTS, str(PACKAGE_ROOT / "contracts"))),
            secrets_backend=env.get(ENV_SECRETS, "env"),
            secrets_dir=Path(env[ENV_SECRETS_DIR]) if env.get(ENV_SECRETS_DIR) else None,
            secrets_prefix=env.get(ENV_SECRETS_PREFIX, ""),
            secrets_ttl=_seconds(env, ENV_SECRETS_TTL, 300.0),
            keyvault_url=env.get(ENV_KEYVAULT_URL) or None,
            gcp_project=env.get(ENV_GCP_PROJECT) or env.get(ENV_GOOGLE_CLOUD_PROJECT) or None,
            duckdb_memory_limit=env.get(ENV_DUCKDB_MEMORY, "2GB"),
            duckdb_threads=int(env.get(ENV_DUCKDB_THREADS, "0") or 0),
            duckdb_temp_dir=env.get(ENV_DUCKDB_TEMP) or None,
            silver_chunk_rows=int(env.get(ENV_SILVER_CHUNK_ROWS, "500000") or 500_000),
            environ=env,
        )
        return settings.with_(**overrides)

    def with_(self, **overrides: object) -> Settings:
        """A copy with the given fields replaced; None values are ignored."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also rejects NaN
        raise ConfigError(
            f"{name} must be a number of seconds, 0 or more: {text!r}",
            hint=f"set {name}=300 (or unset it for the default)",
        )
    return seconds
