"""The Azure stack's configuration (namespace `lakehouse-azure`), read once."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra_pulumi.config import CommonConfig, ConfigError, read_common

INSTANCE_MEMORY_SIZES = (512, 2048, 4096)


@dataclass(frozen=True)
class AzureConfig:
    """Keys of the Azure program; the location comes from `azure-native:location`."""

    common: CommonConfig
    location: str
    """`azure-native:location`: the region of every resource (one with Flex Consumption)."""
    storage_sku: str
    """`storageSku`: lake redundancy, e.g. Standard_LRS (dev) or Standard_ZRS (prod)."""
    instance_memory_mb: int
    """`instanceMemoryMb`: Flex Consumption instance size, 512, 2048 (default) or 4096;
    DuckDB gets half of it."""
    maximum_instances: int
    """`maximumInstances`: scale-out ceiling of the function app (default 40)."""
    llm_model_version: str
    """`llmModelVersion`: version of the Azure OpenAI model deployed (default 2024-07-18)."""
    llm_sku: str
    """`llmSku`: Azure OpenAI deployment type (default GlobalStandard)."""
    llm_capacity: int
    """`llmCapacity`: deployment capacity in thousands of tokens per minute (default 10)."""
    deploy_code: bool
    """`deployCode`: publish dist/azure/functionapp.zip with the Azure CLI during `pulumi up`
    and wire the landing blob events to it (default true; false provisions infrastructure
    only, for a first look or a separate release pipeline)."""
    ingest_function: str
    """`ingestFunction`: name of the blob-triggered function in function_app.py (default
    `ingest`); the Event Grid subscription delivers to it."""


def load() -> AzureConfig:
    config = pulumi.Config()
    location = pulumi.Config("azure-native").get("location")
    if not location:
        raise ConfigError("set azure-native:location (a region offering Flex Consumption)")
    memory = config.get_int("instanceMemoryMb") or 2048
    if memory not in INSTANCE_MEMORY_SIZES:
        raise ConfigError(f"instanceMemoryMb {memory}: use one of {INSTANCE_MEMORY_SIZES}")
    deploy_code = config.get_bool("deployCode")
    return AzureConfig(
        common=read_common(config, default_llm="azure-openai"),
        location=location,
        storage_sku=config.get("storageSku") or "Standard_LRS",
        instance_memory_mb=memory,
        maximum_instances=config.get_int("maximumInstances") or 40,
        llm_model_version=config.get("llmModelVersion") or "2024-07-18",
        llm_sku=config.get("llmSku") or "GlobalStandard",
        llm_capacity=config.get_int("llmCapacity") or 10,
        deploy_code=True if deploy_code is None else deploy_code,
        ingest_function=config.get("ingestFunction") or "ingest",
    )
