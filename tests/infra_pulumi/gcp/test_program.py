"""The GCP program under mocks: inventory, bucket security, service accounts with grants on
this stack's resources only, Eventarc and Cloud Scheduler against the function app's contract."""

from __future__ import annotations

import base64
import json

import pytest

from infra_pulumi import contract, schedules
from infra_pulumi.gcp.config import vertex_base_url
from tests.infra_pulumi.harness import Deployment, Resource, rpc, stack_config

BUCKET = "gcp:storage/bucket:Bucket"
FUNCTION = "gcp:cloudfunctionsv2/function:Function"


def functions(deployment: Deployment) -> dict[str, Resource]:
    return {f.get("buildConfig", "entryPoint"): f for f in deployment.of(FUNCTION)}


def accounts(deployment: Deployment) -> dict[str, str]:
    """Service account kind (fn, events, sched) -> member."""
    return {
        a.get("accountId").rsplit("-", 1)[-1]: a.outputs["member"]
        for a in deployment.of("gcp:serviceaccount/account:Account")
    }


def test_inventory(gcp_dev: Deployment) -> None:
    assert gcp_dev.types() == {
        "gcp:cloudfunctionsv2/function:Function": 3,
        "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": 3,
        "gcp:cloudscheduler/job:Job": 4,
        "gcp:projects/iAMMember:IAMMember": 2,
        "gcp:projects/service:Service": 10,
        "gcp:secretmanager/secret:Secret": 1,
        "gcp:secretmanager/secretIamMember:SecretIamMember": 1,
        "gcp:secretmanager/secretVersion:SecretVersion": 1,
        "gcp:serviceaccount/account:Account": 3,
        "gcp:storage/bucket:Bucket": 8,
        "gcp:storage/bucketIAMMember:BucketIAMMember": 7,
        "gcp:storage/bucketObject:BucketObject": 1,
        "lakehouse:gcp:Functions": 1,
        "lakehouse:gcp:Lake": 1,
        "lakehouse:gcp:Scheduler": 1,
        "lakehouse:gcp:SecretStore": 1,
        "random:index/randomPassword:RandomPassword": 1,
    }


@pytest.mark.parametrize("stack", ["gcp_dev", "gcp_prod"])
def test_a_private_versioned_bucket_per_layer(request: pytest.FixtureRequest, stack: str) -> None:
    deployment = request.getfixturevalue(stack)
    project = stack_config("gcp", stack.split("_")[1])["gcp:project"]
    prefix = f"{project}-lakehouse-{stack.split('_')[1]}"
    buckets = {b.get("name"): b for b in deployment.of(BUCKET)}
    assert sorted(buckets) == sorted(f"{prefix}-{c}" for c in (*contract.CONTAINERS, "source"))
    for bucket in buckets.values():
        assert bucket.get("publicAccessPrevention") == "enforced"
        assert bucket.get("uniformBucketLevelAccess") is True
        assert bucket.get("versioning") == {"enabled": True}
        assert bucket.get("softDeletePolicy", "retentionDurationSeconds") >= 7 * 86400
        assert bucket.get("forceDestroy") is False
    assert deployment.outputs["lake_url"] == f"gs://{prefix}-{{layer}}/"
    assert buckets[f"{prefix}-landing"].protect is (stack == "gcp_prod")


def test_grants_are_on_this_stacks_resources(gcp_dev: Deployment) -> None:
    members = accounts(gcp_dev)
    lake_buckets = {
        b.get("name") for b in gcp_dev.of(BUCKET) if not b.get("name").endswith("-source")
    }
    objects = gcp_dev.of("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert {o.get("bucket") for o in objects} == lake_buckets
    assert {(o.get("role"), o.get("member")) for o in objects} == {
        ("roles/storage.objectUser", members["fn"])
    }
    secret = gcp_dev.one("gcp:secretmanager/secret:Secret")
    access = gcp_dev.one("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert access.get("secretId") == secret.get("secretId")
    assert (access.get("role"), access.get("member")) == (
        "roles/secretmanager.secretAccessor",
        members["fn"],
    )
    by_handler = functions(gcp_dev)
    invokers = {
        (i.get("name"), i.get("member"))
        for i in gcp_dev.of("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
    }
    service = {h: f.outputs["serviceConfig"]["service"] for h, f in by_handler.items()}
    assert invokers == {
        (service["ingest"], members["events"]),
        (service["scheduled"], members["sched"]),
        (service["http"], "group:data-team@retailer.example"),
    }
    project_roles = {p.get("role") for p in gcp_dev.of("gcp:projects/iAMMember:IAMMember")}
    assert project_roles == {"roles/eventarc.eventReceiver", "roles/pubsub.publisher"}


def test_functions_follow_the_function_app_contract(gcp_dev: Deployment) -> None:
    by_handler = functions(gcp_dev)
    assert sorted(by_handler) == sorted(contract.HANDLERS)
    members = accounts(gcp_dev)
    for handler, function in by_handler.items():
        assert function.get("buildConfig", "runtime") == "python311"
        service = function.get("serviceConfig")
        assert f"serviceAccount:{service['serviceAccountEmail']}" == members["fn"]
        internal = handler != "http"
        assert (service["ingressSettings"] == "ALLOW_INTERNAL_ONLY") is internal
        env = service["environmentVariables"]
        assert env[contract.LAKE] == gcp_dev.outputs["lake_url"]
        assert env[contract.SECRETS] == "gcp"
        assert env[contract.GCP_PROJECT] == "retail-lakehouse-dev"
        assert env[contract.SECRETS_PREFIX] == "lakehouse-dev-"
    version = gcp_dev.one("gcp:secretmanager/secretVersion:SecretVersion")
    assert rpc.is_rpc_secret(version.inputs["secretData"])


def test_only_landing_bucket_events_reach_ingest(gcp_dev: Deployment) -> None:
    landing = next(b.get("name") for b in gcp_dev.of(BUCKET) if b.get("name").endswith("-landing"))
    by_handler = functions(gcp_dev)
    trigger = by_handler["ingest"].get("eventTrigger")
    assert trigger["eventType"] == "google.cloud.storage.object.v1.finalized"
    assert trigger["eventFilters"] == [{"attribute": "bucket", "value": landing}]
    assert f"serviceAccount:{trigger['serviceAccountEmail']}" == accounts(gcp_dev)["events"]
    assert by_handler["scheduled"].get("eventTrigger") is None
    assert by_handler["http"].get("eventTrigger") is None


@pytest.mark.parametrize("stack", ["gcp_dev", "gcp_prod"])
def test_scheduler_jobs_are_the_configured_schedules(
    request: pytest.FixtureRequest, stack: str
) -> None:
    deployment = request.getfixturevalue(stack)
    config = stack_config("gcp", stack.split("_")[1])
    scheduled = functions(deployment)["scheduled"].outputs["url"]
    found = {}
    for job in deployment.of("gcp:cloudscheduler/job:Job"):
        target = job.get("httpTarget")
        assert target["uri"] == scheduled and target["httpMethod"] == "POST"
        sa = target["oidcToken"]["serviceAccountEmail"]
        assert f"serviceAccount:{sa}" == accounts(deployment)["sched"]
        assert job.get("timeZone") == "Etc/UTC"
        found[json.loads(base64.b64decode(target["body"]))["job"]] = job.get("schedule")
    assert found == {
        job: schedules.to_unix_cron(
            config.get(f"lakehouse-gcp:{job}Schedule", contract.DEFAULT_SCHEDULES[job])
        )
        for job in contract.JOBS
    }


def test_prod_advisor_uses_vertex_ai(gcp_prod: Deployment) -> None:
    env = functions(gcp_prod)["http"].get("serviceConfig", "environmentVariables")
    assert env[contract.LLM] == "compatible"
    assert env[contract.LLM_BASE_URL] == vertex_base_url("retail-lakehouse-prod", "europe-west1")
    roles = {p.get("role") for p in gcp_prod.of("gcp:projects/iAMMember:IAMMember")}
    assert "roles/aiplatform.user" in roles
