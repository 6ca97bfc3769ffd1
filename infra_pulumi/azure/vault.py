"""Key Vault with Azure RBAC (no access policies) holding the PII hashing key."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native

from infra_pulumi import contract
from infra_pulumi.secret_value import pii_hash_key


@dataclass
class SecretStoreArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    vault_name: pulumi.Input[str]
    """Globally unique, 3-24 letters, digits and '-'."""
    retention_days: int
    protect: bool = False
    pii_hash_key: pulumi.Output[str] | None = None
    """An existing key to carry over; None generates one."""
    tags: dict[str, str] = field(default_factory=dict)


class SecretStore(pulumi.ComponentResource):
    """The vault and the `pii-hash-key` secret. The app reads it with its own identity
    (`LAKEHOUSE_SECRETS=keyvault`); no setting or output ever holds the value."""

    vault: azure_native.keyvault.Vault
    vault_uri: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:azure:SecretStore", name, None, opts)
        self.vault = azure_native.keyvault.Vault(
            f"{name}-vault",
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=azure_native.keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=azure_native.keyvault.SkuArgs(family="A", name="standard"),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=max(7, min(90, args.retention_days)),
                # A purged key would change every PII hash for good: purging is refused.
                enable_purge_protection=True,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                # Flex Consumption apps without VNet integration reach the vault over its
                # public endpoint; access is by Entra ID and RBAC only.
                public_network_access="Enabled",
                network_acls=azure_native.keyvault.NetworkRuleSetArgs(
                    bypass="AzureServices", default_action="Allow"
                ),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        value = pii_hash_key(f"{name}-pii-hash-key", args.pii_hash_key, self, args.protect)
        self.secret = azure_native.keyvault.Secret(
            f"{name}-pii-hash-key-secret",
            resource_group_name=args.resource_group_name,
            vault_name=self.vault.name,
            secret_name=contract.PII_HASH_KEY,
            properties=azure_native.keyvault.SecretPropertiesArgs(value=value),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.vault_uri = self.vault.properties.vault_uri
        self.register_outputs({"vault_uri": self.vault_uri})
