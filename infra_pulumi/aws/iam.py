"""IAM policy statements for the functions' roles, each naming the exact resources it covers.

No statement uses a wildcard action, and `*` never stands for a resource: object access is on
`<lake bucket>/*` or on a layer's prefix of it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi

Statement = dict[str, object]


def statement(actions: Sequence[str], resources: Sequence[pulumi.Input[str]]) -> pulumi.Output:
    return pulumi.Output.all(*resources).apply(
        lambda arns: {"Effect": "Allow", "Action": sorted(actions), "Resource": list(arns)}
    )


def document(statements: Sequence[pulumi.Output]) -> pulumi.Output[str]:
    return pulumi.Output.all(*statements).apply(
        lambda found: json.dumps({"Version": "2012-10-17", "Statement": list(found)})
    )


def assume_role(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def lake_read(bucket_arn: pulumi.Input[str]) -> list[pulumi.Output]:
    return [
        statement(["s3:ListBucket"], [bucket_arn]),
        statement(["s3:GetObject"], [pulumi.Output.concat(bucket_arn, "/*")]),
    ]


def lake_write(bucket_arn: pulumi.Input[str], prefixes: Sequence[str] = ("",)) -> pulumi.Output:
    """Put and delete objects (Delta commits use conditional puts) under the prefixes."""
    return statement(
        ["s3:PutObject", "s3:DeleteObject"],
        [pulumi.Output.concat(bucket_arn, "/", prefix, "*") for prefix in prefixes],
    )


def kms_use(key_arn: pulumi.Input[str]) -> pulumi.Output:
    return statement(["kms:Decrypt", "kms:GenerateDataKey"], [key_arn])


def secret_read(secret_arn: pulumi.Input[str]) -> pulumi.Output:
    return statement(["secretsmanager:GetSecretValue"], [secret_arn])


def log_write(log_group_arn: pulumi.Input[str]) -> pulumi.Output:
    return statement(
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        [pulumi.Output.concat(log_group_arn, ":*")],
    )
