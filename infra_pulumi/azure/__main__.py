"""Azure: the lakehouse on ADLS Gen2, Key Vault, Azure Functions (Flex Consumption) and Azure
OpenAI. Composes the components and exports what an operator needs; `pulumi up` also
publishes dist/azure/functionapp.zip (`make package`) unless `deployCode` is false."""

import sys
from dataclasses import replace
from pathlib import Path

# Pulumi runs this folder as a script; the components are in the `infra_pulumi` package at
# the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pulumi
import pulumi_azure_native as azure_native
import pulumi_random as random

from infra_pulumi import contract
from infra_pulumi.azure.config import load
from infra_pulumi.azure.function_app import FunctionApp, FunctionAppArgs
from infra_pulumi.azure.llm import AdvisorModel, AdvisorModelArgs
from infra_pulumi.azure.monitoring import Monitoring, MonitoringArgs
from infra_pulumi.azure.naming import global_name
from infra_pulumi.azure.storage import Lake, StorageArgs
from infra_pulumi.azure.vault import SecretStore, SecretStoreArgs

config = load()
common = config.common
suffix = random.RandomString(
    "name-suffix", length=6, special=False, upper=False
).result  # one per stack: keeps global names (storage, vault, OpenAI) unique
group = azure_native.resources.ResourceGroup(
    f"{common.name}-rg", location=config.location, tags=common.tags
)
storage = StorageArgs(
    resource_group_name=group.name,
    location=group.location,
    sku=config.storage_sku,
    retention_days=common.data_retention_days,
    protect=common.protect,
    tags=common.tags,
)
lake = Lake(
    f"{common.name}-lake",
    replace(storage, account_name=global_name(common.name, "lake", suffix)),
)
secrets = SecretStore(
    f"{common.name}-secrets",
    SecretStoreArgs(
        resource_group_name=group.name,
        location=group.location,
        tenant_id=azure_native.authorization.get_client_config_output().tenant_id,
        vault_name=global_name(common.name, "kv", suffix, dashes=True),
        retention_days=common.data_retention_days,
        protect=common.protect,
        pii_hash_key=common.pii_hash_key,
        tags=common.tags,
    ),
)
monitoring = Monitoring(
    f"{common.name}-monitoring",
    MonitoringArgs(
        resource_group_name=group.name,
        location=group.location,
        retention_days=common.log_retention_days,
        alert_email=common.alert_email,
        tags=common.tags,
    ),
)
advisor = (
    AdvisorModel(
        f"{common.name}-advisor",
        AdvisorModelArgs(
            resource_group_name=group.name,
            location=group.location,
            subdomain=global_name(common.name, "ai", suffix, dashes=True),
            model=common.llm.model,
            version=config.llm_model_version,
            sku=config.llm_sku,
            capacity=config.llm_capacity,
            tags=common.tags,
        ),
    )
    if common.llm.provider == "azure-openai"
    else None
)
functions = FunctionApp(
    f"{common.name}-functions",
    FunctionAppArgs(
        resource_group_name=group.name,
        location=group.location,
        # Runtime state and deployment packages only: locally redundant, never protected.
        host_storage=replace(
            storage,
            sku="Standard_LRS",
            protect=False,
            account_name=global_name(common.name, "host", suffix),
        ),
        lake_account_id=lake.account.id,
        lake_account_name=lake.account.name,
        lake_url=lake.lake_url,
        vault_id=secrets.vault.id,
        vault_uri=secrets.vault_uri,
        insights_id=monitoring.component.id,
        insights_connection_string=monitoring.connection_string,
        schedules=common.schedules,
        llm=common.llm,
        instance_memory_mb=config.instance_memory_mb,
        maximum_instances=config.maximum_instances,
        ingest_function=config.ingest_function,
        openai_account_id=advisor.account.id if advisor else None,
        openai_endpoint=advisor.endpoint if advisor else None,
        openai_deployment=advisor.deployment_name if advisor else None,
        artifact=common.artifact("azure") if config.deploy_code else None,
        tags=common.tags,
    ),
)

pulumi.export("lake_url", lake.lake_url)
pulumi.export("function_app_name", functions.app.name)
pulumi.export("function_app_url", functions.url)
pulumi.export("advisor_endpoint", pulumi.Output.concat(functions.url, contract.ADVISOR_PATH))
pulumi.export("secret_store_uri", secrets.vault_uri)
pulumi.export("resource_group", group.name)
