"""An alarm per function on any error, sent to an encrypted SNS topic (and `alertEmail`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class AlarmsArgs:
    functions: Mapping[str, aws.lambda_.Function]
    alert_email: str | None = None


class Alarms(pulumi.ComponentResource):
    topic: aws.sns.Topic

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:aws:Alarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(f"{name}-alerts", kms_master_key_id="alias/aws/sns", opts=child)
        if args.alert_email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.alert_email,
                opts=child,
            )
        for handler, function in args.functions.items():
            aws.cloudwatch.MetricAlarm(
                f"{name}-{handler}-errors",
                alarm_description=f"The lakehouse {handler} function failed",
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions={"FunctionName": function.name},
                statistic="Sum",
                period=300,
                evaluation_periods=1,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[self.topic.arn],
                opts=child,
            )
        self.register_outputs({"topic": self.topic.arn})
