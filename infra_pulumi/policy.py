"""Policy checks over the resources a program declares: what must never be deployed.

Each check is a small pure function of the declared resources (type, name, inputs), the
shape of a CrossGuard policy pack, so it runs in the unit tests under mocks without the
Pulumi CLI; `violations` runs them all and returns one line per finding.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from pulumi.runtime.rpc import unwrap_rpc_secret


class Declared(Protocol):
    type: str
    name: str
    inputs: Mapping[str, Any]


Check = Callable[[list[Declared]], Iterator[str]]
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
AZURE_ALLOWED_ROLES = {
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe",  # Storage Blob Data Contributor
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88",  # Storage Queue Data Contributor
    "4633458b-17de-408a-b874-0445c86b69e6",  # Key Vault Secrets User
    "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",  # Cognitive Services OpenAI User
    "3913510d-42f4-4e42-8a64-420c390055eb",  # Monitoring Metrics Publisher
}
GCP_PROJECT_ROLES_ALLOWED = {
    # Required at project level by Google for GCS -> Eventarc, and by Vertex AI.
    "roles/eventarc.eventReceiver",
    "roles/pubsub.publisher",
    "roles/aiplatform.user",
}
CHECKS: list[Check] = []


def check(function: Check) -> Check:
    CHECKS.append(function)
    return function


def value(resource: Declared, *path: str) -> Any:
    """A nested input, secrets unwrapped (the mock monitor hands them over wrapped)."""
    found: Any = resource.inputs
    for key in path:
        found = _unwrap(found)
        if not isinstance(found, Mapping):
            return None
        found = found.get(key)
    return _unwrap(found)


def _unwrap(found: Any) -> Any:
    return unwrap_rpc_secret(found)


def of(resources: Iterable[Declared], type_: str) -> list[Declared]:
    return [r for r in resources if r.type == type_]


@check
def azure_storage_is_private(resources: list[Declared]) -> Iterator[str]:
    for account in of(resources, "azure-native:storage:StorageAccount"):
        if value(account, "allowBlobPublicAccess") is not False:
            yield f"{account.name}: storage account allows public blob access"
        if value(account, "enableHttpsTrafficOnly") is not True:
            yield f"{account.name}: storage account accepts plain HTTP"
        if value(account, "minimumTlsVersion") != "TLS1_2":
            yield f"{account.name}: storage account accepts TLS below 1.2"
        if value(account, "allowSharedKeyAccess") is not False:
            yield f"{account.name}: storage account accepts shared keys"
    for container in of(resources, "azure-native:storage:BlobContainer"):
        if value(container, "publicAccess") not in (None, "None"):
            yield f"{container.name}: container is public ({value(container, 'publicAccess')})"


@check
def s3_buckets_are_private(resources: list[Declared]) -> Iterator[str]:
    blocks = of(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    blocked = {
        value(block, "bucket")
        for block in blocks
        if all(value(block, flag) is True for flag in flags)
    }
    for block in blocks:
        off = [flag for flag in flags if value(block, flag) is not True]
        if off:
            yield f"{block.name}: public access block leaves {', '.join(off)} off"
    for bucket in of(resources, "aws:s3/bucket:Bucket"):
        if value(bucket, "acl") in PUBLIC_ACLS:
            yield f"{bucket.name}: bucket ACL {value(bucket, 'acl')} is public"
        if not blocked & {bucket.name, value(bucket, "bucket"), getattr(bucket, "id", None)}:
            yield f"{bucket.name}: bucket has no complete public access block"
    for policy in of(resources, "aws:s3/bucketPolicy:BucketPolicy"):
        document = value(policy, "policy")
        statements = json.loads(document)["Statement"] if isinstance(document, str) else []
        for statement in statements:
            principal = statement.get("Principal")
            everyone = principal == "*" or (
                isinstance(principal, Mapping) and "*" in _as_list(principal.get("AWS"))
            )
            if statement.get("Effect") == "Allow" and everyone:
                yield f"{policy.name}: bucket policy allows everyone ({statement.get('Action')})"


@check
def gcs_buckets_are_private(resources: list[Declared]) -> Iterator[str]:
    for bucket in of(resources, "gcp:storage/bucket:Bucket"):
        if value(bucket, "publicAccessPrevention") != "enforced":
            yield f"{bucket.name}: public access prevention is not enforced"
        if value(bucket, "uniformBucketLevelAccess") is not True:
            yield f"{bucket.name}: object ACLs are allowed (no uniform bucket-level access)"
    for binding in resources:
        if binding.type.startswith("gcp:") and "IAM" in binding.type.upper():
            members = _as_list(value(binding, "member")) + _as_list(value(binding, "members"))
            for member in members:
                if member in PUBLIC_MEMBERS:
                    yield f"{binding.name}: grants {value(binding, 'role')} to {member}"


@check
def aws_policies_name_their_resources(resources: list[Declared]) -> Iterator[str]:
    for policy in of(resources, "aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(value(policy, "policy"))["Statement"]:
            actions = _as_list(statement.get("Action"))
            if any(action == "*" or action.endswith(":*") for action in actions):
                yield f"{policy.name}: wildcard action in {actions}"
            if "*" in _as_list(statement.get("Resource")):
                yield f"{policy.name}: statement on every resource ('*') for {actions}"
    for role in of(resources, "aws:iam/role:Role"):
        for arn in _as_list(value(role, "managedPolicyArns")):
            yield f"{role.name}: attaches managed policy {arn}"


@check
def azure_roles_are_narrow(resources: list[Declared]) -> Iterator[str]:
    for assignment in of(resources, "azure-native:authorization:RoleAssignment"):
        role = str(value(assignment, "roleDefinitionId")).rsplit("/", 1)[-1]
        if role not in AZURE_ALLOWED_ROLES:
            yield f"{assignment.name}: role {role} is not one of the data-plane roles allowed"
        if "/providers/" not in str(value(assignment, "scope")):
            yield f"{assignment.name}: scoped to a subscription or resource group"


@check
def gcp_roles_are_narrow(resources: list[Declared]) -> Iterator[str]:
    for binding in resources:
        if not binding.type.startswith("gcp:") or value(binding, "role") is None:
            continue
        role = value(binding, "role")
        if role in ("roles/owner", "roles/editor") or role.endswith(".admin") or "Admin" in role:
            yield f"{binding.name}: grants {role}"
        project_level = binding.type.startswith("gcp:projects/")
        if project_level and role not in GCP_PROJECT_ROLES_ALLOWED:
            yield f"{binding.name}: grants {role} on the whole project"


def _as_list(found: Any) -> list[str]:
    if found is None:
        return []
    return [found] if isinstance(found, str) else list(found)


def violations(resources: Iterable[Declared]) -> list[str]:
    """Every finding of every check, e.g. `lake-public-access: public access block leaves
    blockPublicPolicy off`; empty means the declared stack passes."""
    declared = list(resources)
    return [finding for policy in CHECKS for finding in policy(declared)]
