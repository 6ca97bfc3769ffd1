"""Settings, built once at an entry point from the environment and passed down.

Every environment variable the platform reads is named here and nowhere else; the
pipeline core takes a `Settings` and never reads `os.environ` itself.
"""

from __future__ import annotations

import json
import math
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
ENV_VACUUM_RETENTION_HOURS = "LAKEHOUSE_VACUUM_RETENTION_HOURS"
ENV_LLM = "LAKEHOUSE_LLM"
ENV_LLM_MODEL = "LAKEHOUSE_LLM_MODEL"
ENV_LLM_DEPLOYMENT = "LAKEHOUSE_LLM_DEPLOYMENT"
ENV_AZURE_OPENAI_ENDPOINT = "AZURE_OPENAI_ENDPOINT"
ENV_LLM_BASE_URL = "LAKEHOUSE_LLM_BASE_URL"
ENV_LLM_API_VERSION = "LAKEHOUSE_LLM_API_VERSION"
ENV_LLM_TIMEOUT = "LAKEHOUSE_LLM_TIMEOUT"
ENV_LLM_RETRIES = "LAKEHOUSE_LLM_RETRIES"
ENV_LLM_TOKEN_BUDGET = "LAKEHOUSE_LLM_TOKEN_BUDGET"
ENV_LLM_PRICES = "LAKEHOUSE_LLM_PRICES"

# Azure OpenAI's GA data-plane API version for chat completions.
DEFAULT_AZURE_OPENAI_API_VERSION = "2024-10-21"
# USD per million tokens (input, output), as the vendors list them for these models; a
# model missing here is recorded with no cost. LAKEHOUSE_LLM_PRICES adds or overrides.
DEFAULT_LLM_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}


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
    silver_chunk_rows: int = 0
    """A Silver build reads new Bronze batches about this many rows at a time, which bounds
    its memory; 0 sizes the chunks to DuckDB's memory limit (500,000 rows at 768 MB)."""
    vacuum_retention_hours: int = 7 * 24
    """Hours a lake table keeps the files it stopped using (rewritten by a merge, compaction
    or a Gold rebuild) before a build deletes them; readers of older versions need them."""
    llm_backend: str = "offline"
    """The advisor's language model: `offline` (rules over the evidence, no network),
    `openai`, `azure-openai` or `compatible` (any OpenAI-compatible base URL)."""
    llm_model: str | None = None
    """Model name (`gpt-4o-mini` for openai when unset; required for compatible)."""
    llm_deployment: str | None = None
    """Azure OpenAI deployment name (required for azure-openai)."""
    azure_openai_endpoint: str | None = None
    """Azure OpenAI resource endpoint, e.g. `https://<resource>.openai.azure.com/`."""
    llm_base_url: str | None = None
    """Base URL of an OpenAI-compatible server (`http://host:8000/v1`); also overrides the
    OpenAI URL for the openai backend (a proxy or gateway)."""
    llm_api_version: str = DEFAULT_AZURE_OPENAI_API_VERSION
    """Azure OpenAI data-plane API version."""
    llm_timeout: float = 30.0
    """Seconds one LLM request may take before it is abandoned (then retried)."""
    llm_retries: int = 2
    """Retries of a timed-out, throttled or 5xx LLM request, with backoff."""
    llm_token_budget: int = 6000
    """Tokens one advisor request may spend per LLM call, prompt and answer together;
    the lowest-ranked evidence is left out until the prompt fits."""
    llm_prices: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: dict(DEFAULT_LLM_PRICES)
    )
    """USD per million tokens (input, output) by model name (a dated model name such as
    `gpt-4o-mini-2024-07-18` uses the longest listed prefix)."""
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
            silver_chunk_rows=_count(env, ENV_SILVER_CHUNK_ROWS, 0),
            vacuum_retention_hours=_count(env, ENV_VACUUM_RETENTION_HOURS, 7 * 24),
            llm_backend=(env.get(ENV_LLM) or "offline").strip().lower(),
            llm_model=env.get(ENV_LLM_MODEL) or None,
            llm_deployment=env.get(ENV_LLM_DEPLOYMENT) or None,
            azure_openai_endpoint=env.get(ENV_AZURE_OPENAI_ENDPOINT) or None,
            llm_base_url=env.get(ENV_LLM_BASE_URL) or None,
            llm_api_version=env.get(ENV_LLM_API_VERSION) or DEFAULT_AZURE_OPENAI_API_VERSION,
            llm_timeout=_seconds(env, ENV_LLM_TIMEOUT, 30.0),
            llm_retries=_count(env, ENV_LLM_RETRIES, 2),
            llm_token_budget=_count(env, ENV_LLM_TOKEN_BUDGET, 6000),
            llm_prices={**DEFAULT_LLM_PRICES, **_prices(env.get(ENV_LLM_PRICES, ""))},
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


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise ConfigError(
            f"{name} must be a whole number, 0 or more: {text!r}",
            hint=f"set {name}={default} (or unset it for the default)",
        )
    return int(text)


def _prices(text: str) -> dict[str, tuple[float, float]]:
    """`{"my-model": [0.5, 1.5]}` or `{"my-model": {"input": 0.5, "output": 1.5}}`: USD per
    million input and output tokens, by model."""
    if not text.strip():
        return {}
    example = '{"gpt-4o-mini": {"input": 0.15, "output": 0.60}}'
    try:
        table = json.loads(text)
        if not isinstance(table, dict):
            raise ValueError("not an object")
        prices = {}
        for model, price in table.items():
            pair = (price["input"], price["output"]) if isinstance(price, dict) else price
            low, high = (float(v) for v in pair)
            if not (math.isfinite(low) and math.isfinite(high) and low >= 0 and high >= 0):
                raise ValueError(f"negative or infinite price for {model}")
            prices[str(model)] = (low, high)
        return prices
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(
            f"{ENV_LLM_PRICES} must map model names to USD per million input and output "
            f"tokens: {exc}",
            hint=f"set {ENV_LLM_PRICES}='{example}'",
        ) from None
