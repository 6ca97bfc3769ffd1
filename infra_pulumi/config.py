"""Stack configuration shared by the three programs, read once into typed, frozen objects.

Each cloud's `config.py` calls `read_common` and adds its own keys. Keys live in the project's
namespace (`pulumi config set lakehouse-aws:prefix acme`); the README lists them all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from infra_pulumi import contract, schedules

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "manifest.json"
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,13}[a-z0-9]$")


class ConfigError(ValueError):
    """A stack config value that cannot work; the message names the key and the fix."""


@dataclass(frozen=True)
class Artifact:
    """One deployable built by `make package` (see infra_pulumi/package.py)."""

    path: Path
    """The zip file, or the container build context folder."""
    sha256: str
    """Content digest; resources key their redeploys on it."""
    kind: str = "zip"
    """`zip` or `image` (a Docker build context)."""


@dataclass(frozen=True)
class LlmConfig:
    """Where the advisor's model is; the app reads these as LAKEHOUSE_LLM* settings."""

    provider: str
    """offline | openai | azure-openai | compatible."""
    model: str
    """Model (or, on Azure, model of the deployment) the advisor asks."""
    base_url: str | None = None
    """OpenAI-compatible endpoint for `compatible` (a Bedrock gateway, Vertex AI, ...)."""


@dataclass(frozen=True)
class CommonConfig:
    """Keys every cloud reads."""

    prefix: str
    """Short lowercase name put in front of resource names (3-15 chars: a-z, 0-9, -)."""
    stack: str
    """The Pulumi stack (dev, prod): part of names, so stacks never collide."""
    schedules: Mapping[str, str]
    """Job -> NCRONTAB schedule (`silverSchedule`, `goldSchedule`, `monitorSchedule`,
    `reconcileSchedule`); AWS and GCP derive their expressions from these."""
    llm: LlmConfig
    """`llm`, `llmModel`, `llmBaseUrl`."""
    artifact_dir: Path
    """`artifactDir`: where `make package` wrote the artefacts (default: the repo's dist/)."""
    log_retention_days: int
    """`logRetentionDays`: how long function logs are kept (default 30)."""
    data_retention_days: int
    """`dataRetentionDays`: soft-deleted blobs and noncurrent object versions are kept this long
    (default 14), so a bad write or delete in the lake can be undone."""
    protect: bool
    """`protect`: mark the lake storage and the secret as protected (prod: true), so a
    `pulumi destroy` or a replacement cannot delete them."""
    alert_email: str | None
    """`alertEmail`: who is told when functions fail (optional)."""
    pii_hash_key: pulumi.Output[str] | None
    """`piiHashKey` (secret, optional): carry an existing PII hashing key over; without it a
    random key is generated once and kept in state, encrypted."""

    @property
    def name(self) -> str:
        """`<prefix>-<stack>`: the stem of every resource name."""
        return f"{self.prefix}-{self.stack}"

    @property
    def tags(self) -> dict[str, str]:
        return {"app": "retail-lakehouse", "stack": self.stack, "managed-by": "pulumi"}

    def artifact(self, cloud: str) -> Artifact:
        return load_artifact(self.artifact_dir, cloud)


def read_common(
    config: pulumi.Config, *, default_llm: str = "offline", default_base_url: str | None = None
) -> CommonConfig:
    """Read and validate the shared keys; raise `ConfigError` naming the key to fix."""
    prefix = config.get("prefix") or "lakehouse"
    if not _PREFIX.match(prefix):
        raise ConfigError(f"prefix {prefix!r}: use 3-15 characters a-z, 0-9 and '-'")
    found = {
        job: config.get(f"{job}Schedule") or contract.DEFAULT_SCHEDULES[job]
        for job in contract.JOBS
    }
    for job, expression in found.items():
        try:
            schedules.parse(expression)
        except schedules.ScheduleError as error:
            raise ConfigError(f"{job}Schedule: {error}") from error
    llm = LlmConfig(
        provider=config.get("llm") or default_llm,
        model=config.get("llmModel") or "gpt-4o-mini",
        base_url=config.get("llmBaseUrl") or default_base_url,
    )
    if llm.provider not in contract.LLM_PROVIDERS:
        raise ConfigError(f"llm {llm.provider!r}: use one of {', '.join(contract.LLM_PROVIDERS)}")
    if llm.provider == "compatible" and not llm.base_url:
        raise ConfigError("llm is 'compatible': set llmBaseUrl to the endpoint's base URL")
    artifact_dir = Path(config.get("artifactDir") or "dist")
    return CommonConfig(
        prefix=prefix,
        stack=pulumi.get_stack(),
        schedules=found,
        llm=llm,
        artifact_dir=artifact_dir if artifact_dir.is_absolute() else REPO_ROOT / artifact_dir,
        log_retention_days=config.get_int("logRetentionDays") or 30,
        data_retention_days=config.get_int("dataRetentionDays") or 14,
        protect=bool(config.get_bool("protect")),
        alert_email=config.get("alertEmail"),
        pii_hash_key=config.get_secret("piiHashKey"),
    )


def load_artifact(artifact_dir: Path, cloud: str) -> Artifact:
    """The artefact `make package` built for a cloud, from its manifest."""
    manifest_path = artifact_dir / MANIFEST
    if not manifest_path.is_file():
        raise ConfigError(
            f"no {MANIFEST} in {artifact_dir}: run `make package` first "
            "(or set artifactDir to where it wrote the artefacts)"
        )
    entry = json.loads(manifest_path.read_text(encoding="utf-8"))["artifacts"].get(cloud)
    if entry is None:
        raise ConfigError(f"{manifest_path} has no artefact for {cloud}: run `make package`")
    path = artifact_dir / entry["path"]
    if not path.exists():
        raise ConfigError(f"{path} is missing: run `make package` again")
    return Artifact(path=path, sha256=entry["sha256"], kind=entry.get("kind", "zip"))


def duckdb_memory(instance_mb: int) -> str:
    """DuckDB's memory limit for an instance size: half of it, leaving room for Python,
    Arrow buffers outside DuckDB and the runtime; above it DuckDB spills to local disk.
    Measured at 10M order lines, a job peaked about 0.5 to 0.65 GB above DuckDB's limit
    (`benchmarks/pipeline.py`): with 60% of a 1.5 GB instance, Silver peaked at 1.56 GB;
    with half, at 1.43 GB, in the same time."""
    return f"{instance_mb // 2}MB"


def app_environment(
    lake_url: Any, secrets_backend: str, memory_mb: int, llm: LlmConfig
) -> dict[str, Any]:
    """The settings every cloud's function app reads from its environment (the cloud
    programs add their own); the secret is named by its store, never included."""
    variables: dict[str, Any] = {
        contract.LAKE: lake_url,
        contract.SECRETS: secrets_backend,
        contract.DUCKDB_MEMORY: duckdb_memory(memory_mb),
        contract.LLM: llm.provider,
        contract.LLM_MODEL: llm.model,
    }
    if llm.base_url:
        variables[contract.LLM_BASE_URL] = llm.base_url
    return variables
