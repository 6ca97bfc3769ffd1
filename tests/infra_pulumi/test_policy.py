"""The policy checks catch what they exist for: each deliberately public or over-privileged
variant below is reported, so a passing stack means something (test_programs.py runs the
same checks on every real program)."""

from __future__ import annotations

import copy
import json

import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
import pytest

from infra_pulumi import policy
from tests.infra_pulumi.harness import Deployment, Resource, run_inline


def with_input(deployment: Deployment, type_: str, **changes: object) -> list[Resource]:
    """The deployment's resources with one resource of `type_` changed."""
    resources = copy.deepcopy(deployment.resources)
    target = next(r for r in resources if r.type == type_)
    target.inputs.update(changes)
    return resources


def test_a_deliberately_public_s3_bucket_fails_the_policy() -> None:
    def public_bucket() -> None:
        bucket = aws.s3.Bucket("public-bucket")
        aws.s3.BucketPublicAccessBlock(
            "public-bucket-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=False,
            ignore_public_acls=True,
            restrict_public_buckets=False,
        )
        aws.s3.BucketPolicy(
            "public-bucket-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": "*",
                                "Action": "s3:GetObject",
                                "Resource": f"{arn}/*",
                            }
                        ],
                    }
                )
            ),
        )

    found = policy.violations(run_inline(public_bucket).resources)
    assert any("blockPublicPolicy, restrictPublicBuckets off" in f for f in found), found
    assert any("bucket policy allows everyone" in f for f in found), found
    assert any("no complete public access block" in f for f in found), found


def test_a_deliberately_public_gcs_bucket_fails_the_policy() -> None:
    def public_bucket() -> None:
        bucket = gcp.storage.Bucket(
            "public-bucket", location="EU", public_access_prevention="inherited"
        )
        gcp.storage.BucketIAMMember(
            "everyone-reads",
            bucket=bucket.name,
            role="roles/storage.objectViewer",
            member="allUsers",
        )

    found = policy.violations(run_inline(public_bucket).resources)
    assert any("public access prevention is not enforced" in f for f in found), found
    assert any("to allUsers" in f for f in found), found


def test_a_deliberately_public_azure_container_fails_the_policy() -> None:
    def public_container() -> None:
        account = azure_native.storage.StorageAccount(
            "publicaccount",
            resource_group_name="rg",
            kind="StorageV2",
            sku=azure_native.storage.SkuArgs(name="Standard_LRS"),
            allow_blob_public_access=True,
        )
        azure_native.storage.BlobContainer(
            "public-container",
            account_name=account.name,
            resource_group_name="rg",
            public_access="Blob",
        )

    found = policy.violations(run_inline(public_container).resources)
    assert any("allows public blob access" in f for f in found), found
    assert any("container is public (Blob)" in f for f in found), found
    assert any("accepts shared keys" in f for f in found), found


@pytest.mark.parametrize(
    ("stack", "type_", "changes", "expected"),
    [
        (
            "aws_dev",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            {"blockPublicPolicy": False},
            "leaves blockPublicPolicy off",
        ),
        ("aws_dev", "aws:s3/bucket:Bucket", {"acl": "public-read"}, "is public"),
        (
            "azure_dev",
            "azure-native:storage:StorageAccount",
            {"allowBlobPublicAccess": True},
            "allows public blob access",
        ),
        (
            "azure_dev",
            "azure-native:storage:StorageAccount",
            {"minimumTlsVersion": "TLS1_0"},
            "TLS below 1.2",
        ),
        (
            "gcp_dev",
            "gcp:storage/bucket:Bucket",
            {"publicAccessPrevention": "inherited"},
            "not enforced",
        ),
        (
            "gcp_dev",
            "gcp:storage/bucketIAMMember:BucketIAMMember",
            {"member": "allAuthenticatedUsers"},
            "to allAuthenticatedUsers",
        ),
    ],
)
def test_making_a_real_stack_public_is_reported(
    request: pytest.FixtureRequest, stack: str, type_: str, changes: dict, expected: str
) -> None:
    deployment = request.getfixturevalue(stack)
    assert policy.violations(deployment.resources) == []
    found = policy.violations(with_input(deployment, type_, **changes))
    assert len(found) >= 1 and any(expected in f for f in found), found


@pytest.mark.parametrize(
    ("stack", "type_", "changes", "expected"),
    [
        (
            "aws_dev",
            "aws:iam/rolePolicy:RolePolicy",
            {
                "policy": json.dumps(
                    {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
                )
            },
            "wildcard action",
        ),
        (
            "azure_dev",
            "azure-native:authorization:RoleAssignment",
            {
                "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/"
                "roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                "scope": "/subscriptions/s/resourceGroups/rg",
            },
            "not one of the data-plane roles",
        ),
        (
            "gcp_dev",
            "gcp:projects/iAMMember:IAMMember",
            {"role": "roles/editor"},
            "grants roles/editor",
        ),
    ],
)
def test_over_privileged_variants_are_reported(
    request: pytest.FixtureRequest, stack: str, type_: str, changes: dict, expected: str
) -> None:
    found = policy.violations(with_input(request.getfixturevalue(stack), type_, **changes))
    assert any(expected in f for f in found), found
