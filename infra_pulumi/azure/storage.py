"""The storage accounts: the lake (ADLS Gen2, one container per layer) and a function host
account, both locked down the same way.

Security (checked by tests/infra_pulumi and infra_pulumi/policy.py): HTTPS only, TLS 1.2
minimum, no anonymous blob access, no shared keys (Entra ID only, so a leaked key cannot
exist), no cross-tenant replication, Microsoft-managed encryption on blobs and files, blob and
container soft delete. Blob versioning is on for the host account; Azure does not offer it
on accounts with a hierarchical namespace, so the lake relies on soft delete plus Delta's own
table history (time travel).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native

from infra_pulumi import contract


@dataclass
class StorageArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    sku: str
    retention_days: int
    account_name: pulumi.Input[str] | None = None
    """Globally unique, 3-24 lowercase letters and digits."""
    protect: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def secure_account(
    name: str,
    args: StorageArgs,
    *,
    hierarchical_namespace: bool,
    parent: pulumi.Resource,
) -> tuple[azure_native.storage.StorageAccount, azure_native.storage.BlobServiceProperties]:
    """A StorageV2 account with the settings above, and its blob service's data protection."""
    enabled = azure_native.storage.EncryptionServiceArgs(enabled=True, key_type="Account")
    account = azure_native.storage.StorageAccount(
        name,
        account_name=args.account_name,
        resource_group_name=args.resource_group_name,
        location=args.location,
        kind="StorageV2",
        sku=azure_native.storage.SkuArgs(name=args.sku),
        is_hns_enabled=hierarchical_namespace,
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        allow_blob_public_access=False,
        allow_shared_key_access=False,
        default_to_o_auth_authentication=True,
        allow_cross_tenant_replication=False,
        public_network_access="Enabled",
        encryption=azure_native.storage.EncryptionArgs(
            key_source="Microsoft.Storage",
            require_infrastructure_encryption=True,
            services=azure_native.storage.EncryptionServicesArgs(blob=enabled, file=enabled),
        ),
        tags=args.tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=args.protect),
    )
    retention = azure_native.storage.DeleteRetentionPolicyArgs(
        enabled=True, days=args.retention_days
    )
    blob_service = azure_native.storage.BlobServiceProperties(
        f"{name}-blob-service",
        account_name=account.name,
        resource_group_name=args.resource_group_name,
        blob_services_name="default",
        delete_retention_policy=retention,
        container_delete_retention_policy=retention,
        is_versioning_enabled=None if hierarchical_namespace else True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return account, blob_service


def private_container(
    name: str,
    container: str,
    account: azure_native.storage.StorageAccount,
    args: StorageArgs,
    *,
    parent: pulumi.Resource,
) -> azure_native.storage.BlobContainer:
    return azure_native.storage.BlobContainer(
        name,
        account_name=account.name,
        resource_group_name=args.resource_group_name,
        container_name=container,
        public_access="None",
        opts=pulumi.ResourceOptions(parent=parent, protect=args.protect),
    )


class Lake(pulumi.ComponentResource):
    """The lake: an ADLS Gen2 account with one private container per layer, so the blob
    trigger and Event Grid watch `landing` alone."""

    account: azure_native.storage.StorageAccount
    lake_url: pulumi.Output[str]
    """`abfss://{layer}@<account>.dfs.core.windows.net/`: the app maps each layer to its
    container."""

    def __init__(
        self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:azure:Lake", name, None, opts)
        self.account, _ = secure_account(
            f"{name}-account", args, hierarchical_namespace=True, parent=self
        )
        self.containers = {
            container: private_container(
                f"{name}-{container}", container, self.account, args, parent=self
            )
            for container in contract.CONTAINERS
        }
        self.lake_url = pulumi.Output.concat(
            "abfss://",
            contract.LAYER_PLACEHOLDER,
            "@",
            self.account.name,
            ".dfs.core.windows.net/",
        )
        self.register_outputs({"account_name": self.account.name, "lake_url": self.lake_url})
