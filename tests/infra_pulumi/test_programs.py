"""Properties every cloud's program must have, on both example stacks."""

from __future__ import annotations

import json

from infra_pulumi import policy
from tests.infra_pulumi.harness import PII_KEY_SENTINEL, SENTINELS, Deployment, walk

# Resources a program may declare outside a component: the group every Azure resource lives
# in, the stack's name suffix, and the Google APIs a GCP project must enable.
TOP_LEVEL = {
    "azure-native:resources:ResourceGroup",
    "random:index/randomString:RandomString",
    "gcp:projects/service:Service",
}


def test_the_example_stack_passes_every_policy(any_stack: Deployment) -> None:
    assert policy.violations(any_stack.resources) == []


def test_secret_values_appear_only_as_pulumi_secrets(any_stack: Deployment) -> None:
    """The generated PII key (and any key or password the program handles) is held only
    inside values Pulumi encrypts; no setting, environment variable or plain input has it."""
    leaks = [
        f"{resource.name}{path}"
        for resource in any_stack.resources
        for path, leaf, secret in walk(resource.inputs)
        if isinstance(leaf, str) and any(s in leaf for s in SENTINELS) and not secret
    ]
    assert leaks == []
    held = [
        resource.type
        for resource in any_stack.resources
        for _, leaf, secret in walk(resource.inputs)
        if leaf == PII_KEY_SENTINEL and secret
    ]
    assert len(held) == 1, "the key is stored once, in the cloud's secret store"


def test_outputs_hold_no_secret(any_stack: Deployment) -> None:
    text = json.dumps(any_stack.outputs)
    assert not any(sentinel in text for sentinel in SENTINELS)
    assert any_stack.secret_outputs == set()
    for name in ("lake_url", "advisor_endpoint", "secret_store_uri"):
        assert any_stack.outputs[name], name
    assert any_stack.outputs["advisor_endpoint"].endswith("/api/advisor")


def test_components_parent_their_resources(any_stack: Deployment) -> None:
    components = {r.urn for r in any_stack.resources if r.type.startswith("lakehouse:")}
    assert components
    orphans = [
        f"{r.type} {r.name}"
        for r in any_stack.resources
        if not r.type.startswith("lakehouse:")
        and r.type not in TOP_LEVEL
        and r.parent not in components
    ]
    assert orphans == []
