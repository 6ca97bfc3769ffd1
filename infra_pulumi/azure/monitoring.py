"""Logs and alerts: a Log Analytics workspace, workspace-based Application Insights that only
accepts Entra ID-authenticated telemetry, and an alert when functions fail."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native


@dataclass
class MonitoringArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    retention_days: int
    alert_email: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


class Monitoring(pulumi.ComponentResource):
    component: azure_native.applicationinsights.Component
    connection_string: pulumi.Output[str]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:azure:Monitoring", name, None, opts)
        workspace = azure_native.operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=azure_native.operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=max(30, args.retention_days),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.component = azure_native.applicationinsights.Component(
            f"{name}-insights",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=workspace.id,
            # Telemetry is accepted only with an Entra ID token (the app's identity holds
            # Monitoring Metrics Publisher), so the connection string alone cannot write.
            disable_local_auth=True,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.connection_string = self.component.connection_string
        actions = []
        if args.alert_email:
            group = azure_native.monitor.ActionGroup(
                f"{name}-alerts",
                resource_group_name=args.resource_group_name,
                location="global",
                group_short_name="lakehouse",
                enabled=True,
                email_receivers=[
                    azure_native.monitor.MicrosoftCommonEmailReceiverArgs(
                        name="operator", email_address=args.alert_email
                    )
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )
            actions.append(azure_native.monitor.MetricAlertActionArgs(action_group_id=group.id))
        azure_native.monitor.MetricAlert(
            f"{name}-function-failures",
            resource_group_name=args.resource_group_name,
            location="global",
            description="A function invocation failed (ingest, build, monitor or HTTP).",
            severity=2,
            enabled=True,
            scopes=[self.component.id],
            evaluation_frequency="PT5M",
            window_size="PT15M",
            criteria=azure_native.monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[
                    azure_native.monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name="failed-requests",
                        metric_namespace="microsoft.insights/components",
                        metric_name="requests/failed",
                        operator="GreaterThan",
                        threshold=0,
                        time_aggregation="Count",
                    )
                ],
            ),
            actions=actions,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"connection_string": self.connection_string})
