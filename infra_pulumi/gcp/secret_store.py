"""Secret Manager: the PII hashing key, readable by the functions' service account only."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from infra_pulumi import contract
from infra_pulumi.secret_value import pii_hash_key


@dataclass
class SecretStoreArgs:
    prefix: str
    """Prefix of secret ids (`lakehouse-dev-`): the app's LAKEHOUSE_SECRETS_PREFIX."""
    protect: bool = False
    pii_hash_key: pulumi.Output[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)


class SecretStore(pulumi.ComponentResource):
    secret: gcp.secretmanager.Secret

    def __init__(
        self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:gcp:SecretStore", name, None, opts)
        self.secret = gcp.secretmanager.Secret(
            f"{name}-pii-hash-key",
            secret_id=f"{args.prefix}{contract.PII_HASH_KEY}",
            replication=gcp.secretmanager.SecretReplicationArgs(
                auto=gcp.secretmanager.SecretReplicationAutoArgs()
            ),
            labels=args.labels,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        gcp.secretmanager.SecretVersion(
            f"{name}-pii-hash-key-value",
            secret=self.secret.id,
            secret_data=pii_hash_key(
                f"{name}-pii-hash-key-random", args.pii_hash_key, self, args.protect
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.register_outputs({"id": self.secret.id})
