"""API Gateway HTTP API in front of the `http` function. Every route requires IAM (SigV4)
authorization, the AWS counterpart of the Azure app's function keys: callers need
`execute-api:Invoke` on this API. Throttled, with access logs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra_pulumi import contract

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "caller": "$context.identity.caller",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
    }
)


@dataclass
class ApiArgs:
    function: aws.lambda_.Function
    log_retention_days: int
    tags: dict[str, str] = field(default_factory=dict)


class Api(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:aws:Api", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        api = aws.apigatewayv2.Api(f"{name}-http", protocol_type="HTTP", tags=args.tags, opts=child)
        integration = aws.apigatewayv2.Integration(
            f"{name}-lambda",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_uri=args.function.arn,
            payload_format_version="2.0",
            timeout_milliseconds=30000,
            opts=child,
        )
        for route in contract.HTTP_ROUTES:
            aws.apigatewayv2.Route(
                f"{name}-{route.replace(' ', '-').replace('/', '-').strip('-')}",
                api_id=api.id,
                route_key=route,
                target=pulumi.Output.concat("integrations/", integration.id),
                authorization_type="AWS_IAM",
                opts=child,
            )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs", retention_in_days=args.log_retention_days, opts=child
        )
        stage = aws.apigatewayv2.Stage(
            f"{name}-default",
            api_id=api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=logs.arn, format=ACCESS_LOG_FORMAT
            ),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_burst_limit=50, throttling_rate_limit=20
            ),
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-invokes-http",
            action="lambda:InvokeFunction",
            function=args.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(api.execution_arn, "/*/*"),
            opts=child,
        )
        self.url = pulumi.Output.all(api.api_endpoint, stage.id).apply(lambda parts: parts[0])
        self.register_outputs({"url": self.url})
