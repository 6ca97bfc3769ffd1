"""Run a cloud's Pulumi program under `pulumi.runtime.set_mocks` and record what it declares.

No cloud and no Pulumi CLI: every resource registration is answered by `Mocks` (its inputs
echoed back, plus the few outputs a real provider would add), and a recording monitor keeps
each resource's type, name, inputs, parent and `protect` flag for the tests to inspect.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.sync_await import _sync_await

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = REPO / "infra_pulumi"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
PII_KEY_SENTINEL = "GENERATED-PII-KEY-MUST-STAY-SECRET"
HOST_KEY_SENTINEL = "BLOBS-EXTENSION-KEY-MUST-STAY-SECRET"
ECR_PASSWORD_SENTINEL = "ECR-PASSWORD-MUST-STAY-SECRET"
SENTINELS = (PII_KEY_SENTINEL, HOST_KEY_SENTINEL, ECR_PASSWORD_SENTINEL)


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str
    urn: str
    parent: str
    protect: bool

    def get(self, *path: str) -> Any:
        """A nested input, unwrapping Pulumi secrets on the way (None when absent)."""
        value: Any = self.inputs
        for key in path:
            value = unwrap(value)
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return unwrap(value)


@dataclass
class Deployment:
    resources: list[Resource]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    calls: list[str] = field(default_factory=list)

    def of(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        found = self.of(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def by_id(self, resource_id: str) -> Resource | None:
        return next((r for r in self.resources if r.id == resource_id), None)

    def types(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for resource in self.resources:
            counts[resource.type] = counts.get(resource.type, 0) + 1
        return dict(sorted(counts.items()))


def unwrap(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value)


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any, bool]]:
    """Every leaf (path, value, under_a_secret) of a nested input."""
    secret = rpc.is_rpc_secret(value)
    value = unwrap(value)
    if isinstance(value, dict):
        for key, item in value.items():
            for leaf_path, leaf, inner_secret in walk(item, f"{path}.{key}"):
                yield leaf_path, leaf, secret or inner_secret
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for leaf_path, leaf, inner_secret in walk(item, f"{path}[{index}]"):
                yield leaf_path, leaf, secret or inner_secret
    else:
        yield path, value, secret


def fake_id(args: pulumi_mocks.MockResourceArgs) -> str:
    if args.typ.startswith("azure-native:"):
        return (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/"
            f"{args.typ.split(':', 1)[1]}/{args.name}"
        )
    if args.typ.startswith("aws:"):
        return f"arn:aws:mock:eu-west-1:123456789012:{args.typ.split(':')[-1].lower()}/{args.name}"
    return f"{args.name}-id"


def fake_outputs(args: pulumi_mocks.MockResourceArgs, resource_id: str) -> dict[str, Any]:
    """The outputs a provider would add that the programs read."""
    typ, inputs = args.typ, args.inputs
    # The resource's own name input (a deployment or container names its account too).
    keys = ("deploymentName", "secretName", "containerName", "accountName", "vaultName", "name")
    name = next((inputs[key] for key in keys if inputs.get(key)), args.name)
    outputs: dict[str, Any] = {"name": name}
    if typ == "random:index/randomPassword:RandomPassword":
        outputs["result"] = PII_KEY_SENTINEL
    elif typ == "random:index/randomString:RandomString":
        outputs["result"] = "x1y2z3"
    elif typ == "azure-native:storage:StorageAccount":
        outputs["primaryEndpoints"] = {
            kind: f"https://{name}.{kind}.core.windows.net/" for kind in ("blob", "dfs", "queue")
        }
    elif typ == "azure-native:keyvault:Vault":
        outputs["properties"] = {
            **inputs["properties"],
            "vaultUri": f"https://{name}.vault.azure.net/",
        }
    elif typ == "azure-native:web:WebApp":
        outputs["identity"] = {"type": "SystemAssigned", "principalId": "app-principal-id"}
        outputs["defaultHostName"] = f"{name}.azurewebsites.net"
    elif typ == "azure-native:cognitiveservices:Account":
        sub = unwrap(inputs["properties"])["customSubDomainName"]
        outputs["properties"] = {
            **inputs["properties"],
            "endpoint": f"https://{sub}.openai.azure.com/",
        }
    elif typ == "azure-native:applicationinsights:Component":
        outputs["connectionString"] = "InstrumentationKey=00000000-0000-0000-0000-00000000abcd"
    elif typ.startswith("aws:"):
        outputs["arn"] = resource_id
        if typ == "aws:s3/bucket:Bucket":
            outputs["bucket"] = f"{args.name}-abc123"
            outputs["arn"] = f"arn:aws:s3:::{args.name}-abc123"
        elif typ == "aws:ecr/repository:Repository":
            outputs["repositoryUrl"] = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{args.name}"
            outputs["registryId"] = "123456789012"
        elif typ == "aws:apigatewayv2/api:Api":
            outputs["apiEndpoint"] = "https://abc123.execute-api.eu-west-1.amazonaws.com"
            outputs["executionArn"] = "arn:aws:execute-api:eu-west-1:123456789012:abc123"
        elif typ == "aws:lambda/function:Function":
            outputs["invokeArn"] = f"{resource_id}/invocations"
    elif typ == "docker-build:index:Image":
        outputs["ref"] = f"{unwrap(inputs['tags'])[0]}@sha256:{'0' * 64}"
    elif typ == "gcp:serviceaccount/account:Account":
        outputs["email"] = f"{inputs['accountId']}@test-project.iam.gserviceaccount.com"
        outputs["member"] = f"serviceAccount:{outputs['email']}"
    elif typ == "gcp:cloudfunctionsv2/function:Function":
        outputs["url"] = f"https://{args.name}-abc.a.run.app"
        outputs["serviceConfig"] = {
            **unwrap(inputs.get("serviceConfig", {})),
            "service": f"projects/test-project/locations/europe-west1/services/{args.name}",
            "uri": f"https://{args.name}-abc.a.run.app",
        }
    elif typ == "gcp:secretmanager/secret:Secret":
        outputs["secretId"] = inputs["secretId"]
    return outputs


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        resource_id = fake_id(args)
        return resource_id, {**args.inputs, **fake_outputs(args, resource_id)}

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict:
        self.calls.append(args.token)
        answers: dict[str, dict] = {
            "azure-native:authorization:getClientConfig": {
                "subscriptionId": SUBSCRIPTION,
                "tenantId": "00000000-0000-0000-0000-0000000000aa",
                "clientId": "deployer",
                "objectId": "deployer",
            },
            "azure-native:web:listWebAppHostKeys": {
                "masterKey": "master",
                "systemKeys": {"blobs_extension": HOST_KEY_SENTINEL},
            },
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": "123456789012",
                "arn": "arn:aws:iam::123456789012:user/deployer",
                "userId": "deployer",
            },
            "aws:index/getRegion:getRegion": {"name": "eu-west-1", "region": "eu-west-1"},
            "aws:index/getPartition:getPartition": {"partition": "aws"},
            "aws:ecr/getAuthorizationToken:getAuthorizationToken": {
                "userName": "AWS",
                "password": ECR_PASSWORD_SENTINEL,
                "proxyEndpoint": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            },
            "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": {
                "emailAddress": "service-1@gs-project-accounts.iam.gserviceaccount.com",
                "member": "serviceAccount:service-1@gs-project-accounts.iam.gserviceaccount.com",
            },
            "gcp:organizations/getProject:getProject": {
                "number": "1234",
                "projectId": "test-project",
            },
        }
        return answers.get(args.token, {})


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.recorded.append(
                Resource(
                    type=request.type,
                    name=request.name,
                    inputs=rpc.deserialize_properties(request.object),
                    outputs=dict(self.resources[response.urn].state),
                    id=response.id,
                    urn=response.urn,
                    parent=request.parent,
                    protect=request.protect,
                )
            )
        return response


def stack_config(cloud: str, stack: str) -> dict[str, str]:
    """The example stack file's config, as Pulumi hands it to a program (strings)."""
    path = PROGRAMS / cloud / f"Pulumi.{stack}.yaml"
    values = yaml.safe_load(path.read_text(encoding="utf-8"))["config"]
    return {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()
    }


def run_program(
    cloud: str, config: dict[str, str], *, stack: str = "dev", secret_keys: tuple[str, ...] = ()
) -> Deployment:
    """Run infra_pulumi/<cloud>/__main__.py with the given full config keys."""
    project = f"lakehouse-{cloud}"
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    exports: dict[str, Any] = {}

    def program() -> pulumi.Output[Any]:
        runpy.run_path(str(PROGRAMS / cloud / "__main__.py"), run_name="__main__")
        return pulumi.Output.from_input(None)

    with mock.patch.object(pulumi, "export", exports.__setitem__):
        pulumi.runtime.test(program)()
    resolved, secret = {}, set()
    for name, value in exports.items():
        output = pulumi.Output.from_input(value)
        resolved[name] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret.add(name)
    return Deployment(monitor.recorded, resolved, secret, mocks.calls)


def fake_artifacts(root: Path) -> Path:
    """A stand-in for `make package`'s dist/: tiny artefacts and their manifest."""
    (root / "azure").mkdir(parents=True)
    (root / "azure" / "functionapp.zip").write_bytes(b"zip")
    (root / "gcp").mkdir()
    (root / "gcp" / "source.zip").write_bytes(b"zip")
    (root / "aws" / "image" / "app").mkdir(parents=True)
    (root / "aws" / "image" / "Dockerfile").write_text("FROM scratch\n")
    artifacts = {
        "azure": {"kind": "zip", "path": "azure/functionapp.zip", "sha256": "a" * 64},
        "gcp": {"kind": "zip", "path": "gcp/source.zip", "sha256": "b" * 64},
        "aws": {"kind": "image", "path": "aws/image", "sha256": "c" * 64},
    }
    (root / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return root


def run_inline(program: Any, *, project: str = "policy-probe") -> Deployment:
    """Run a small program (a function declaring resources) under the same mocks."""
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack="test", preview=False, monitor=monitor)
    pulumi.runtime.set_all_config({})

    def run() -> pulumi.Output[Any]:
        program()
        return pulumi.Output.from_input(None)

    pulumi.runtime.test(run)()
    return Deployment(monitor.recorded, {}, set(), mocks.calls)
