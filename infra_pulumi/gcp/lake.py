"""One GCS bucket per lake layer (`gs://<bucketPrefix>-{layer}/`), so Eventarc watches the
landing bucket alone and access can be granted per layer, plus a bucket for function sources.

Security (checked by tests/infra_pulumi and infra_pulumi/policy.py): uniform bucket-level
access (no object ACLs), public access prevention enforced, versioning with noncurrent
versions kept `dataRetentionDays`, soft delete; data is encrypted at rest by Google (always on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from infra_pulumi import contract

MIN_SOFT_DELETE_SECONDS = 7 * 24 * 3600


@dataclass
class LakeArgs:
    bucket_prefix: str
    location: str
    retention_days: int
    protect: bool = False
    labels: dict[str, str] = field(default_factory=dict)


def private_bucket(
    name: str, bucket_name: str, args: LakeArgs, *, parent: pulumi.Resource, protect: bool
) -> gcp.storage.Bucket:
    return gcp.storage.Bucket(
        name,
        name=bucket_name,
        location=args.location,
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        versioning=gcp.storage.BucketVersioningArgs(enabled=True),
        soft_delete_policy=gcp.storage.BucketSoftDeletePolicyArgs(
            retention_duration_seconds=max(MIN_SOFT_DELETE_SECONDS, args.retention_days * 86400)
        ),
        lifecycle_rules=[
            gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                    days_since_noncurrent_time=args.retention_days, with_state="ARCHIVED"
                ),
            )
        ],
        force_destroy=False,
        labels=args.labels,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )


class Lake(pulumi.ComponentResource):
    buckets: dict[str, gcp.storage.Bucket]
    """Container name (landing, ..., ops, reports) -> bucket."""
    source_bucket: gcp.storage.Bucket
    lake_url: str

    def __init__(self, name: str, args: LakeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:gcp:Lake", name, None, opts)
        self.buckets = {
            container: private_bucket(
                f"{name}-{container}",
                f"{args.bucket_prefix}-{container}",
                args,
                parent=self,
                protect=args.protect,
            )
            for container in contract.CONTAINERS
        }
        self.source_bucket = private_bucket(
            f"{name}-source", f"{args.bucket_prefix}-source", args, parent=self, protect=False
        )
        self.lake_url = f"gs://{args.bucket_prefix}-{contract.LAYER_PLACEHOLDER}/"
        self.register_outputs({"lake_url": self.lake_url})
