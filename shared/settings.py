"""Settings, built once at an entry point from the environment and passed down.

Every environment variable the platform reads is named here and nowhere else; the
pipeline core takes a `Settings` and never reads `os.environ` itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_LAKE = "./.lake"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent

ENV_LAKE = "LAKEHOUSE_LAKE"
ENV_CONTRACTS = "LAKEHOUSE_CONTRACTS"
ENV_SECRETS = "LAKEHOUSE_SECRETS"
ENV_SECRETS_DIR = "LAKEHOUSE_SECRETS_DIR"
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
    """Where secrets come from: `env` (environment, .env, then the secrets folder)."""
    secrets_dir: Path | None = None
    """Local folder of secret files (one per secret); generated keys go here. Default: a
    `.secrets` folder beside a local lake (never inside it, never committed)."""
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
