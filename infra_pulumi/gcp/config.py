"""The GCP stack's configuration (namespace `lakehouse-gcp`), read once."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra_pulumi import contract
from infra_pulumi.config import CommonConfig, ConfigError, read_common

LONGEST_CONTAINER = max(len(container) for container in (*contract.CONTAINERS, "source"))


def vertex_base_url(project: str, region: str) -> str:
    """Vertex AI's OpenAI-compatible endpoint (chat completions with an ADC bearer token)."""
    return (
        f"https://{region}-aiplatform.googleapis.com/v1/projects/{project}"
        f"/locations/{region}/endpoints/openapi"
    )


@dataclass(frozen=True)
class GcpConfig:
    """Keys of the GCP program; project and region come from `gcp:project` and `gcp:region`."""

    common: CommonConfig
    project: str
    region: str
    bucket_prefix: str
    """`bucketPrefix`: bucket names are `<bucketPrefix>-<layer>` (default
    `<project>-<prefix>-<stack>`); bucket names are global, so keep the project in it."""
    memory_mb: int
    """`memoryMb`: memory of the ingest and scheduled functions (default 4096, with 2 vCPU)."""
    http_memory_mb: int
    """`httpMemoryMb`: memory of the HTTP function (default 1024)."""
    api_invokers: tuple[str, ...]
    """`apiInvokers`: IAM members allowed to call the HTTP API (e.g. `group:data@acme.com`);
    nobody else can, the API is never public."""
    enable_apis: bool
    """`enableApis`: enable the Google APIs the stack uses (default true)."""

    @property
    def uses_vertex(self) -> bool:
        url = self.common.llm.base_url or ""
        return self.common.llm.provider == "compatible" and "aiplatform.googleapis.com" in url


def load() -> GcpConfig:
    config = pulumi.Config()
    provider = pulumi.Config("gcp")
    project, region = provider.get("project"), provider.get("region")
    if not project or not region:
        raise ConfigError("set gcp:project and gcp:region")
    common = read_common(config, default_base_url=vertex_base_url(project, region))
    bucket_prefix = config.get("bucketPrefix") or f"{project}-{common.name}"
    if len(bucket_prefix) + 1 + LONGEST_CONTAINER > 63:
        raise ConfigError(f"bucketPrefix {bucket_prefix!r} is too long for 63-character names")
    return GcpConfig(
        common=common,
        project=project,
        region=region,
        bucket_prefix=bucket_prefix,
        memory_mb=config.get_int("memoryMb") or 4096,
        http_memory_mb=config.get_int("httpMemoryMb") or 1024,
        api_invokers=tuple(config.get_object("apiInvokers") or ()),
        enable_apis=config.get_bool("enableApis") is not False,
    )
