"""What starts the functions: landing uploads (S3 notifications) and the job schedules
(EventBridge rules, their expressions derived from the NCRONTAB schedules in stack config)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra_pulumi import contract, schedules
from infra_pulumi.aws.functions import event_input

LANDING_PREFIX = f"{contract.LANDING}/"


@dataclass
class TriggersArgs:
    bucket_id: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    ingest: aws.lambda_.Function
    scheduled: aws.lambda_.Function
    schedules: Mapping[str, str]


class Triggers(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: TriggersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:aws:Triggers", name, None, opts)
        allow_s3 = aws.lambda_.Permission(
            f"{name}-s3-invokes-ingest",
            action="lambda:InvokeFunction",
            function=args.ingest.name,
            principal="s3.amazonaws.com",
            source_arn=args.bucket_arn,
            source_account=args.account_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # S3 filters by prefix only: files moved to landing/_rejected/ do raise events, and
        # the ingest handler skips any name with a part starting with '_'.
        aws.s3.BucketNotification(
            f"{name}-landing-uploads",
            bucket=args.bucket_id,
            lambda_functions=[
                aws.s3.BucketNotificationLambdaFunctionArgs(
                    lambda_function_arn=args.ingest.arn,
                    events=["s3:ObjectCreated:*"],
                    filter_prefix=LANDING_PREFIX,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[allow_s3]),
        )
        for job in contract.JOBS:
            rule = aws.cloudwatch.EventRule(
                f"{name}-{job}-schedule",
                description=f"{job} job, NCRONTAB {args.schedules[job]} (UTC)",
                schedule_expression=schedules.to_eventbridge(args.schedules[job]),
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{job}-target",
                rule=rule.name,
                arn=args.scheduled.arn,
                input=event_input(job),
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.lambda_.Permission(
                f"{name}-{job}-invokes-scheduled",
                action="lambda:InvokeFunction",
                function=args.scheduled.name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
