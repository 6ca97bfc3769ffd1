"""Built-in Azure roles the app's identity gets, and a helper that grants one on one resource.

Every grant is a data-plane role on a single resource this program made; nothing is granted
on the resource group or subscription, and no Owner, Contributor or administrator role.
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

ROLE_IDS = {
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}


def role_definition_id(role: str) -> pulumi.Output[str]:
    subscription = azure_native.authorization.get_client_config_output().subscription_id
    return subscription.apply(
        lambda sub: (
            f"/subscriptions/{sub}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{ROLE_IDS[role]}"
        )
    )


def grant(
    name: str,
    role: str,
    *,
    principal_id: pulumi.Input[str],
    scope: pulumi.Input[str],
    parent: pulumi.Resource,
) -> azure_native.authorization.RoleAssignment:
    """Give a managed identity one built-in role on one resource."""
    return azure_native.authorization.RoleAssignment(
        name,
        principal_id=principal_id,
        # Set explicitly: a new identity may not have replicated yet, and the type spares
        # the lookup that would fail on it.
        principal_type="ServicePrincipal",
        role_definition_id=role_definition_id(role),
        scope=scope,
        opts=pulumi.ResourceOptions(parent=parent),
    )
