"""The PII hashing key's value, for every cloud's secret store."""

from __future__ import annotations

import pulumi
import pulumi_random as random

KEY_LENGTH = 64


def pii_hash_key(
    name: str, configured: pulumi.Output[str] | None, parent: pulumi.Resource, protect: bool
) -> pulumi.Output[str]:
    """The configured key (`piiHashKey`, a secret) or one generated once and kept in the
    stack's encrypted state. Always returned as a secret, so Pulumi never shows or stores it
    in plain text; it reaches the app only through the secret store."""
    if configured is not None:
        return pulumi.Output.secret(configured)
    generated = random.RandomPassword(
        name,
        length=KEY_LENGTH,
        special=False,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    return pulumi.Output.secret(generated.result)
