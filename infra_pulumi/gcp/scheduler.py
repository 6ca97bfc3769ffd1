"""Cloud Scheduler jobs calling the `scheduled` function with `{"job": ...}`, their unix-cron
schedules derived from the NCRONTAB schedules in stack config (UTC, as on Azure)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra_pulumi import contract, schedules


@dataclass
class SchedulerArgs:
    region: str
    function_url: pulumi.Input[str]
    caller_email: pulumi.Input[str]
    schedules: Mapping[str, str]
    depends_on: tuple[pulumi.Resource, ...] = ()


def job_body(job: str) -> str:
    return base64.b64encode(json.dumps({"job": job}).encode()).decode()


class Scheduler(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: SchedulerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:gcp:Scheduler", name, None, opts)
        for job in contract.JOBS:
            gcp.cloudscheduler.Job(
                f"{name}-{job}",
                region=args.region,
                description=f"{job} job, NCRONTAB {args.schedules[job]}",
                schedule=schedules.to_unix_cron(args.schedules[job]),
                time_zone="Etc/UTC",
                attempt_deadline=f"{30 * 60}s",
                retry_config=gcp.cloudscheduler.JobRetryConfigArgs(retry_count=1),
                http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                    uri=args.function_url,
                    http_method="POST",
                    body=job_body(job),
                    headers={"Content-Type": "application/json"},
                    oidc_token=gcp.cloudscheduler.JobHttpTargetOidcTokenArgs(
                        service_account_email=args.caller_email, audience=args.function_url
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
            )
        self.register_outputs({})
