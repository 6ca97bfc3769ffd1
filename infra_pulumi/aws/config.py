"""The AWS stack's configuration (namespace `lakehouse-aws`), read once."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra_pulumi.config import CommonConfig, ConfigError, read_common
from infra_pulumi.package import LAMBDA_BASE_IMAGE


@dataclass(frozen=True)
class AwsConfig:
    """Keys of the AWS program; the region comes from `aws:region`."""

    common: CommonConfig
    region: str
    """`aws:region`."""
    memory_mb: int
    """`memoryMb`: memory of the ingest and scheduled functions (default 3008; DuckDB gets
    half of it)."""
    http_memory_mb: int
    """`httpMemoryMb`: memory of the HTTP function (default 1024)."""
    ephemeral_storage_mb: int
    """`ephemeralStorageMb`: /tmp of the ingest and scheduled functions, where DuckDB spills
    (default 4096)."""
    base_image: str
    """`baseImage`: the Lambda Python 3.11 base image the function image is built on."""


def load() -> AwsConfig:
    config = pulumi.Config()
    region = pulumi.Config("aws").get("region")
    if not region:
        raise ConfigError("set aws:region")
    memory = config.get_int("memoryMb") or 3008
    if not 128 <= memory <= 10240:
        raise ConfigError(f"memoryMb {memory}: Lambda allows 128 to 10240")
    return AwsConfig(
        common=read_common(config, default_llm="offline"),
        region=region,
        memory_mb=memory,
        http_memory_mb=config.get_int("httpMemoryMb") or 1024,
        ephemeral_storage_mb=config.get_int("ephemeralStorageMb") or 4096,
        base_image=config.get("baseImage") or LAMBDA_BASE_IMAGE,
    )
