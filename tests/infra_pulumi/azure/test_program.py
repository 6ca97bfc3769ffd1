"""The Azure program under mocks: inventory, security settings, least privilege, app
settings against the function app's contract, and the blob-event wiring."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_pulumi import contract
from infra_pulumi.azure.roles import ROLE_IDS
from tests.infra_pulumi.conftest import deploy
from tests.infra_pulumi.harness import (
    HOST_KEY_SENTINEL,
    PII_KEY_SENTINEL,
    Deployment,
    Resource,
    stack_config,
    unwrap,
)
from tests.infra_pulumi.harness import rpc as pulumi_rpc

ACCOUNT = "azure-native:storage:StorageAccount"
ROLE = "azure-native:authorization:RoleAssignment"
FORBIDDEN_SETTINGS = ("FUNCTIONS_WORKER_RUNTIME", "WEBSITE_RUN_FROM_PACKAGE", "AzureWebJobsStorage")


def settings(deployment: Deployment) -> dict[str, str]:
    app = deployment.one("azure-native:web:WebApp")
    return {item["name"]: item["value"] for item in app.get("siteConfig", "appSettings")}


def accounts(deployment: Deployment) -> tuple[Resource, Resource]:
    lake = next(a for a in deployment.of(ACCOUNT) if a.get("isHnsEnabled"))
    host = next(a for a in deployment.of(ACCOUNT) if not a.get("isHnsEnabled"))
    return lake, host


def test_inventory(azure_dev: Deployment) -> None:
    assert azure_dev.types() == {
        "azure-native:applicationinsights:Component": 1,
        "azure-native:authorization:RoleAssignment": 7,
        "azure-native:cognitiveservices:Account": 1,
        "azure-native:cognitiveservices:Deployment": 1,
        "azure-native:eventgrid:SystemTopic": 1,
        "azure-native:eventgrid:SystemTopicEventSubscription": 1,
        "azure-native:keyvault:Secret": 1,
        "azure-native:keyvault:Vault": 1,
        "azure-native:monitor:MetricAlert": 1,
        "azure-native:operationalinsights:Workspace": 1,
        "azure-native:resources:ResourceGroup": 1,
        "azure-native:storage:BlobContainer": 8,
        "azure-native:storage:BlobServiceProperties": 2,
        "azure-native:storage:StorageAccount": 2,
        "azure-native:web:AppServicePlan": 1,
        "azure-native:web:WebApp": 1,
        "azure-native:web:WebAppFtpAllowed": 1,
        "azure-native:web:WebAppScmAllowed": 1,
        "command:local:Command": 1,
        "lakehouse:azure:AdvisorModel": 1,
        "lakehouse:azure:FunctionApp": 1,
        "lakehouse:azure:Lake": 1,
        "lakehouse:azure:Monitoring": 1,
        "lakehouse:azure:SecretStore": 1,
        "random:index/randomPassword:RandomPassword": 1,
        "random:index/randomString:RandomString": 1,
    }


@pytest.mark.parametrize("stack", ["azure_dev", "azure_prod"])
def test_storage_accounts_are_locked_down(request: pytest.FixtureRequest, stack: str) -> None:
    deployment = request.getfixturevalue(stack)
    for account in deployment.of(ACCOUNT):
        assert account.get("enableHttpsTrafficOnly") is True
        assert account.get("minimumTlsVersion") == "TLS1_2"
        assert account.get("allowBlobPublicAccess") is False
        assert account.get("allowSharedKeyAccess") is False
        assert account.get("allowCrossTenantReplication") is False
        assert account.get("encryption", "services", "blob", "enabled") is True
        assert account.get("encryption", "requireInfrastructureEncryption") is True
    retention = int(stack_config("azure", stack.split("_")[1])["lakehouse-azure:dataRetentionDays"])
    services = deployment.of("azure-native:storage:BlobServiceProperties")
    for service in services:
        assert service.get("deleteRetentionPolicy") == {"enabled": True, "days": retention}
        assert service.get("containerDeleteRetentionPolicy") == {"enabled": True, "days": retention}
    lake, host = accounts(deployment)
    by_account = {s.get("accountName"): s for s in services}
    # Azure offers no blob versioning with a hierarchical namespace; the host account has it.
    assert by_account[lake.get("accountName")].get("isVersioningEnabled") is None
    assert by_account[host.get("accountName")].get("isVersioningEnabled") is True


def test_lake_has_one_private_container_per_layer(azure_dev: Deployment) -> None:
    lake, _ = accounts(azure_dev)
    containers = {
        c.get("containerName"): c
        for c in azure_dev.of("azure-native:storage:BlobContainer")
        if c.get("accountName") == lake.get("accountName")
    }
    assert sorted(containers) == sorted(contract.CONTAINERS)
    assert {c.get("publicAccess") for c in containers.values()} == {"None"}
    assert len(lake.get("accountName")) <= 24 and lake.get("accountName").isalnum()


def test_prod_protects_the_data_and_the_key(azure_prod: Deployment, azure_dev: Deployment) -> None:
    lake, host = accounts(azure_prod)
    assert lake.protect and not host.protect
    protected = {r.type for r in azure_prod.resources if r.protect}
    assert {
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Secret",
        "azure-native:storage:BlobContainer",
        "random:index/randomPassword:RandomPassword",
    } <= protected
    assert not any(r.protect for r in azure_dev.resources)


def test_vault_uses_rbac_and_cannot_be_purged(azure_dev: Deployment) -> None:
    vault = azure_dev.one("azure-native:keyvault:Vault")
    assert vault.get("properties", "enableRbacAuthorization") is True
    assert vault.get("properties", "enablePurgeProtection") is True
    assert vault.get("properties", "enableSoftDelete") is True
    assert vault.get("properties", "accessPolicies") is None
    secret = azure_dev.one("azure-native:keyvault:Secret")
    assert secret.get("secretName") == contract.PII_HASH_KEY
    assert pulumi_rpc.is_rpc_secret(secret.inputs["properties"])
    assert secret.get("properties", "value") == PII_KEY_SENTINEL


def test_roles_are_data_plane_roles_on_this_stacks_resources(azure_dev: Deployment) -> None:
    lake, host = accounts(azure_dev)
    expected = {
        ("Storage Blob Data Contributor", lake.id),
        ("Storage Queue Data Contributor", lake.id),
        ("Storage Blob Data Contributor", host.id),
        ("Storage Queue Data Contributor", host.id),
        ("Key Vault Secrets User", azure_dev.one("azure-native:keyvault:Vault").id),
        (
            "Cognitive Services OpenAI User",
            azure_dev.one("azure-native:cognitiveservices:Account").id,
        ),
        (
            "Monitoring Metrics Publisher",
            azure_dev.one("azure-native:applicationinsights:Component").id,
        ),
    }
    names = {guid: name for name, guid in ROLE_IDS.items()}
    granted = set()
    for assignment in azure_dev.of(ROLE):
        assert assignment.get("principalId") == "app-principal-id"
        assert assignment.get("principalType") == "ServicePrincipal"
        guid = assignment.get("roleDefinitionId").rsplit("/", 1)[-1]
        granted.add((names[guid], assignment.get("scope")))
    assert granted == expected


def test_app_is_flex_consumption_python_311_https_only(azure_dev: Deployment) -> None:
    plan = azure_dev.one("azure-native:web:AppServicePlan")
    assert plan.get("sku") == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan.get("reserved") is True
    app = azure_dev.one("azure-native:web:WebApp")
    assert app.get("kind") == "functionapp,linux"
    assert app.get("identity") == {"type": "SystemAssigned"}
    assert app.get("httpsOnly") is True
    assert app.get("siteConfig", "minTlsVersion") == "1.2"
    assert app.get("siteConfig", "ftpsState") == "Disabled"
    assert app.get("functionAppConfig", "runtime") == {"name": "python", "version": "3.11"}
    deployment = app.get("functionAppConfig", "deployment", "storage")
    assert deployment["authentication"] == {"type": "SystemAssignedIdentity"}
    for kind in ("Scm", "Ftp"):
        assert azure_dev.one(f"azure-native:web:WebApp{kind}Allowed").get("allow") is False


@pytest.mark.parametrize("stack", ["azure_dev", "azure_prod"])
def test_app_settings_follow_the_function_app_contract(
    request: pytest.FixtureRequest, stack: str
) -> None:
    deployment = request.getfixturevalue(stack)
    found = settings(deployment)
    config = stack_config("azure", stack.split("_")[1])
    for job in contract.JOBS:
        configured = config.get(f"lakehouse-azure:{job}Schedule", contract.DEFAULT_SCHEDULES[job])
        assert found[contract.SCHEDULE_SETTINGS[job]] == configured
    lake, host = accounts(deployment)
    account = lake.get("accountName")
    assert found[contract.LAKE] == f"abfss://{{layer}}@{account}.dfs.core.windows.net/"
    assert found[f"{contract.AZURE_BLOB_CONNECTION}__blobServiceUri"] == (
        f"https://{account}.blob.core.windows.net"
    )
    assert found["AzureWebJobsStorage__accountName"] == host.get("accountName")
    assert found[contract.SECRETS] == "keyvault"
    assert found[contract.KEYVAULT_URL] == deployment.outputs["secret_store_uri"]
    assert found[contract.LLM] == "azure-openai"
    assert found[contract.AZURE_OPENAI_ENDPOINT].endswith(".openai.azure.com/")
    assert found[contract.LLM_DEPLOYMENT] == config["lakehouse-azure:llmModel"]
    # Half the instance: jobs peak about 0.5 to 0.65 GB above DuckDB's limit.
    instance = int(config.get("lakehouse-azure:instanceMemoryMb", 2048))
    assert found[contract.DUCKDB_MEMORY] == f"{instance // 2}MB"
    assert not set(found) & set(FORBIDDEN_SETTINGS)
    for value in found.values():
        assert "AccountKey=" not in value and "SharedAccessSignature" not in value
        assert PII_KEY_SENTINEL not in value and HOST_KEY_SENTINEL not in value


def test_landing_blobs_reach_the_ingest_function_through_event_grid(azure_dev: Deployment) -> None:
    lake, _ = accounts(azure_dev)
    topic = azure_dev.one("azure-native:eventgrid:SystemTopic")
    assert topic.get("source") == lake.id
    subscription = azure_dev.one("azure-native:eventgrid:SystemTopicEventSubscription")
    landing = "/blobServices/default/containers/landing/blobs/"
    assert subscription.get("filter", "includedEventTypes") == ["Microsoft.Storage.BlobCreated"]
    assert subscription.get("filter", "subjectBeginsWith") == landing
    filters = {f["operatorType"]: f for f in subscription.get("filter", "advancedFilters")}
    assert filters["StringNotBeginsWith"]["values"] == [f"{landing}_"]
    assert "FlushWithClose" in filters["StringIn"]["values"]
    destination = subscription.inputs["destination"]
    assert pulumi_rpc.is_rpc_secret(destination), "the webhook URL holds a system key"
    url = unwrap(destination)["endpointUrl"]
    assert "functionName=Host.Functions.ingest&code=" in url and url.startswith("https://")


def test_publish_command_redeploys_on_a_new_package(azure_dev: Deployment) -> None:
    publish = azure_dev.one("command:local:Command")
    assert "config-zip" in publish.get("create")
    assert publish.get("triggers") == ["a" * 64]
    assert publish.get("environment", "PACKAGE").endswith("azure/functionapp.zip")


def test_infrastructure_only_without_code(artifact_dir: Path) -> None:
    deployment = deploy("azure", "dev", artifact_dir, **{"lakehouse-azure:deployCode": "false"})
    types = deployment.types()
    assert "command:local:Command" not in types
    assert "azure-native:eventgrid:SystemTopicEventSubscription" not in types


def test_offline_advisor_needs_no_model(artifact_dir: Path) -> None:
    deployment = deploy("azure", "dev", artifact_dir, **{"lakehouse-azure:llm": "offline"})
    assert deployment.of("azure-native:cognitiveservices:Account") == []
    assert len(deployment.of(ROLE)) == 6
    assert settings(deployment)[contract.LLM] == "offline"
    assert contract.AZURE_OPENAI_ENDPOINT not in settings(deployment)


def test_a_configured_key_is_used_and_stays_secret(artifact_dir: Path) -> None:
    deployment = deploy(
        "azure", "dev", artifact_dir, **{"lakehouse-azure:piiHashKey": "carried-over-key"}
    )
    assert deployment.of("random:index/randomPassword:RandomPassword") == []
    secret = deployment.one("azure-native:keyvault:Secret")
    assert pulumi_rpc.is_rpc_secret(secret.inputs["properties"])
    assert secret.get("properties", "value") == "carried-over-key"
