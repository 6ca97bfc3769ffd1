"""Azure OpenAI for the advisor: an account with keys disabled (Entra ID only) and one model
deployment; the app's identity gets Cognitive Services OpenAI User on this account alone."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native


@dataclass
class AdvisorModelArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    subdomain: pulumi.Input[str]
    """Custom subdomain: Entra ID tokens are only accepted on `<subdomain>.openai.azure.com`."""
    model: str
    version: str
    sku: str
    capacity: int
    tags: dict[str, str] = field(default_factory=dict)


class AdvisorModel(pulumi.ComponentResource):
    account: azure_native.cognitiveservices.Account
    endpoint: pulumi.Output[str]
    deployment_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: AdvisorModelArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:azure:AdvisorModel", name, None, opts)
        self.account = azure_native.cognitiveservices.Account(
            f"{name}-openai",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="OpenAI",
            sku=azure_native.cognitiveservices.SkuArgs(name="S0"),
            properties=azure_native.cognitiveservices.AccountPropertiesArgs(
                custom_sub_domain_name=args.subdomain,
                disable_local_auth=True,
                public_network_access="Enabled",
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        deployment = azure_native.cognitiveservices.Deployment(
            f"{name}-deployment",
            resource_group_name=args.resource_group_name,
            account_name=self.account.name,
            deployment_name=args.model,
            sku=azure_native.cognitiveservices.SkuArgs(name=args.sku, capacity=args.capacity),
            properties=azure_native.cognitiveservices.DeploymentPropertiesArgs(
                model=azure_native.cognitiveservices.DeploymentModelArgs(
                    format="OpenAI", name=args.model, version=args.version
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.endpoint = self.account.properties.endpoint
        self.deployment_name = deployment.name
        self.register_outputs({"endpoint": self.endpoint})
