"""Names that must be unique across Azure (storage accounts, vaults, OpenAI subdomains)."""

from __future__ import annotations

import re

import pulumi


def global_name(
    stem: str, kind: str, suffix: pulumi.Input[str], *, dashes: bool = False
) -> pulumi.Output[str]:
    """`<stem><kind><suffix>` within 24 characters: lowercase letters and digits only (storage
    accounts), or with dashes (`lakehouse-dev-kv-x1y2z3`) where the service allows them."""
    if dashes:
        base = re.sub(r"[^a-z0-9-]", "", stem.lower())[: 24 - len(kind) - 8]
        return pulumi.Output.concat(base.strip("-"), "-", kind, "-", suffix)
    base = re.sub(r"[^a-z0-9]", "", stem.lower())[: 24 - len(kind) - 6]
    return pulumi.Output.concat(base, kind, suffix)
