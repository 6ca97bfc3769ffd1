"""Secrets Manager: the PII hashing key, encrypted with the lake's KMS key."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra_pulumi import contract
from infra_pulumi.secret_value import pii_hash_key


@dataclass
class SecretStoreArgs:
    prefix: str
    """Prefix of secret names (`lakehouse-dev/`): the app's LAKEHOUSE_SECRETS_PREFIX."""
    kms_key_arn: pulumi.Input[str]
    recovery_days: int
    protect: bool = False
    pii_hash_key: pulumi.Output[str] | None = None
    tags: dict[str, str] = field(default_factory=dict)


class SecretStore(pulumi.ComponentResource):
    secret: aws.secretsmanager.Secret

    def __init__(
        self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:aws:SecretStore", name, None, opts)
        self.secret = aws.secretsmanager.Secret(
            f"{name}-pii-hash-key",
            name=f"{args.prefix}{contract.PII_HASH_KEY}",
            description="HMAC key for PII columns; changing it changes every hash",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=max(7, min(30, args.recovery_days)),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-pii-hash-key-value",
            secret_id=self.secret.id,
            secret_string=pii_hash_key(
                f"{name}-pii-hash-key-random", args.pii_hash_key, self, args.protect
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.register_outputs({"arn": self.secret.arn})
