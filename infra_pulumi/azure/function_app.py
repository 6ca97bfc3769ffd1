"""The function app: Linux, Python 3.11, on the Flex Consumption plan.

Why Flex Consumption rather than (Linux) Consumption: instances of 2 or 4 GB (Consumption
stops at 1.5 GB, short for DuckDB building Silver), no 10-minute cap on a run, identity-based
deployment storage (so no storage key exists anywhere), and it is the plan Azure develops
(Linux Consumption is being retired). Its blob trigger has no polling mode: landing blobs reach
the `ingest` function through an Event Grid subscription, created here once the code is
published, since Event Grid validates the webhook against the running app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native
import pulumi_command as command

from infra_pulumi import contract
from infra_pulumi.azure.roles import grant
from infra_pulumi.azure.storage import StorageArgs, private_container, secure_account
from infra_pulumi.config import Artifact, LlmConfig, app_environment

DEPLOYMENT_CONTAINER = "deployments"
DEPLOY_COMMAND = (
    'az functionapp deployment source config-zip --resource-group "$RESOURCE_GROUP" '
    '--name "$APP_NAME" --src "$PACKAGE"'
)
# Event Grid reports the zero-length CreateFile of an ADLS upload as BlobCreated too; only
# these operations mean a finished file.
COMPLETE_UPLOADS = ("CopyBlob", "PutBlob", "PutBlockList", "FlushWithClose")
LANDING_SUBJECT = f"/blobServices/default/containers/{contract.LANDING}/blobs/"


@dataclass
class FunctionAppArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    host_storage: StorageArgs
    """Settings for the app's own storage account (runtime state, deployment packages)."""
    lake_account_id: pulumi.Input[str]
    lake_account_name: pulumi.Input[str]
    lake_url: pulumi.Input[str]
    vault_id: pulumi.Input[str]
    vault_uri: pulumi.Input[str]
    insights_id: pulumi.Input[str]
    insights_connection_string: pulumi.Input[str]
    schedules: Mapping[str, str]
    llm: LlmConfig
    instance_memory_mb: int
    maximum_instances: int
    ingest_function: str
    openai_account_id: pulumi.Input[str] | None = None
    openai_endpoint: pulumi.Input[str] | None = None
    openai_deployment: pulumi.Input[str] | None = None
    artifact: Artifact | None = None
    """The package to publish; None provisions the app without code (and without the blob
    event subscription, which needs the running app)."""
    tags: dict[str, str] = field(default_factory=dict)


def app_settings(args: FunctionAppArgs, host_account: pulumi.Input[str]) -> dict:
    """Every app setting the function app reads. No secret values: the PII key stays in Key
    Vault and is read with the app's identity; the Application Insights connection string is
    an identifier (ingestion needs an Entra ID token)."""
    lake_blob = pulumi.Output.concat("https://", args.lake_account_name, ".blob.core.windows.net")
    lake_queue = pulumi.Output.concat("https://", args.lake_account_name, ".queue.core.windows.net")
    connection = contract.AZURE_BLOB_CONNECTION
    settings: dict = {
        "AzureWebJobsStorage__accountName": host_account,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": args.insights_connection_string,
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=AAD",
        f"{connection}__blobServiceUri": lake_blob,
        f"{connection}__queueServiceUri": lake_queue,
        contract.KEYVAULT_URL: args.vault_uri,
    }
    settings |= app_environment(args.lake_url, "keyvault", args.instance_memory_mb, args.llm)
    settings |= {contract.SCHEDULE_SETTINGS[job]: args.schedules[job] for job in contract.JOBS}
    if args.llm.provider == "azure-openai":
        settings[contract.AZURE_OPENAI_ENDPOINT] = args.openai_endpoint
        settings[contract.LLM_DEPLOYMENT] = args.openai_deployment
    return settings


class FunctionApp(pulumi.ComponentResource):
    app: azure_native.web.WebApp
    principal_id: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: FunctionAppArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:azure:FunctionApp", name, None, opts)
        host, _ = secure_account(
            f"{name}-host", args.host_storage, hierarchical_namespace=False, parent=self
        )
        private_container(
            f"{name}-deployments", DEPLOYMENT_CONTAINER, host, args.host_storage, parent=self
        )
        plan = azure_native.web.AppServicePlan(
            f"{name}-plan",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="functionapp",
            reserved=True,  # Linux
            sku=azure_native.web.SkuDescriptionArgs(name="FC1", tier="FlexConsumption"),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        settings = app_settings(args, host.name)
        self.app = azure_native.web.WebApp(
            f"{name}-app",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="functionapp,linux",
            server_farm_id=plan.id,
            identity=azure_native.web.ManagedServiceIdentityArgs(type="SystemAssigned"),
            https_only=True,
            client_cert_enabled=False,
            public_network_access="Enabled",
            site_config=azure_native.web.SiteConfigArgs(
                app_settings=[
                    azure_native.web.NameValuePairArgs(name=key, value=value)
                    for key, value in sorted(settings.items())
                ],
                min_tls_version="1.2",
                scm_min_tls_version="1.2",
                ftps_state="Disabled",
                http20_enabled=True,
            ),
            function_app_config=azure_native.web.FunctionAppConfigArgs(
                deployment=azure_native.web.FunctionsDeploymentArgs(
                    storage=azure_native.web.FunctionsDeploymentStorageArgs(
                        type="blobContainer",
                        value=pulumi.Output.concat(
                            host.primary_endpoints.blob, DEPLOYMENT_CONTAINER
                        ),
                        authentication=azure_native.web.FunctionsDeploymentStorageAuthenticationArgs(
                            type="SystemAssignedIdentity"
                        ),
                    )
                ),
                runtime=azure_native.web.FunctionsRuntimeArgs(name="python", version="3.11"),
                scale_and_concurrency=azure_native.web.FunctionsScaleAndConcurrencyArgs(
                    instance_memory_mb=args.instance_memory_mb,
                    maximum_instance_count=args.maximum_instances,
                ),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Publishing goes through Entra ID (the Azure CLI); basic-auth publishing stays off.
        for kind, resource in (
            ("scm", azure_native.web.WebAppScmAllowed),
            ("ftp", azure_native.web.WebAppFtpAllowed),
        ):
            resource(
                f"{name}-no-{kind}-basic-auth",
                resource_group_name=args.resource_group_name,
                name=self.app.name,
                allow=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.principal_id = self.app.identity.apply(lambda identity: identity.principal_id)
        grants = self._grant_access(name, args, host.id)
        if args.artifact is not None:
            deploy = command.local.Command(
                f"{name}-publish",
                create=DEPLOY_COMMAND,
                update=DEPLOY_COMMAND,
                environment={
                    "RESOURCE_GROUP": args.resource_group_name,
                    "APP_NAME": self.app.name,
                    "PACKAGE": str(args.artifact.path),
                },
                triggers=[args.artifact.sha256],
                opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
            )
            self._subscribe_to_landing(name, args, deploy)
        self.url = pulumi.Output.concat("https://", self.app.default_host_name)
        self.register_outputs({"name": self.app.name, "url": self.url})

    def _grant_access(
        self, name: str, args: FunctionAppArgs, host_id: pulumi.Input[str]
    ) -> list[pulumi.Resource]:
        """Data-plane roles, each on one resource: the lake and host accounts (blobs, and the
        queues the runtime keeps for retries and poison messages), the vault, the model and
        Application Insights."""
        wanted = [
            ("lake-blobs", "Storage Blob Data Contributor", args.lake_account_id),
            ("lake-queues", "Storage Queue Data Contributor", args.lake_account_id),
            ("host-blobs", "Storage Blob Data Contributor", host_id),
            ("host-queues", "Storage Queue Data Contributor", host_id),
            ("vault-secrets", "Key Vault Secrets User", args.vault_id),
            ("telemetry", "Monitoring Metrics Publisher", args.insights_id),
        ]
        if args.openai_account_id is not None:
            wanted.append(("openai", "Cognitive Services OpenAI User", args.openai_account_id))
        return [
            grant(f"{name}-{label}", role, principal_id=self.principal_id, scope=scope, parent=self)
            for label, role, scope in wanted
        ]

    def _subscribe_to_landing(
        self, name: str, args: FunctionAppArgs, deploy: pulumi.Resource
    ) -> None:
        """Landing blobs -> Event Grid -> the blob trigger's webhook. The webhook's URL holds
        the `blobs_extension` system key, so it is kept secret."""
        keys = azure_native.web.list_web_app_host_keys_output(
            name=self.app.name,
            resource_group_name=args.resource_group_name,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[deploy]),
        )
        endpoint = pulumi.Output.secret(
            pulumi.Output.concat(
                "https://",
                self.app.default_host_name,
                "/runtime/webhooks/blobs?functionName=Host.Functions.",
                args.ingest_function,
                "&code=",
                keys.system_keys.apply(lambda found: (found or {})["blobs_extension"]),
            )
        )
        topic = azure_native.eventgrid.SystemTopic(
            f"{name}-lake-events",
            resource_group_name=args.resource_group_name,
            location=args.location,
            source=args.lake_account_id,
            topic_type="Microsoft.Storage.StorageAccounts",
            opts=pulumi.ResourceOptions(parent=self),
        )
        azure_native.eventgrid.SystemTopicEventSubscription(
            f"{name}-landing-to-ingest",
            resource_group_name=args.resource_group_name,
            system_topic_name=topic.name,
            event_delivery_schema="EventGridSchema",
            destination=azure_native.eventgrid.WebHookEventSubscriptionDestinationArgs(
                endpoint_type="WebHook",
                endpoint_url=endpoint,
                minimum_tls_version_allowed="1.2",
            ),
            filter=azure_native.eventgrid.EventSubscriptionFilterArgs(
                included_event_types=["Microsoft.Storage.BlobCreated"],
                subject_begins_with=LANDING_SUBJECT,
                advanced_filters=[
                    # `landing/_rejected/` and any other `_` folder never re-trigger ingest.
                    azure_native.eventgrid.StringNotBeginsWithAdvancedFilterArgs(
                        operator_type="StringNotBeginsWith",
                        key="subject",
                        values=[f"{LANDING_SUBJECT}_"],
                    ),
                    azure_native.eventgrid.StringInAdvancedFilterArgs(
                        operator_type="StringIn", key="data.api", values=list(COMPLETE_UPLOADS)
                    ),
                ],
            ),
            # Lost or late events are caught by the reconcile timer; retry for a day first.
            retry_policy=azure_native.eventgrid.RetryPolicyArgs(
                max_delivery_attempts=30, event_time_to_live_in_minutes=1440
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deploy]),
        )
