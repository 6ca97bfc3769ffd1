"""GCP: the lakehouse on GCS (a bucket per layer), Cloud Functions (2nd gen), Eventarc,
Cloud Scheduler, Secret Manager and Vertex AI. Composes the components and exports what an
operator needs; `pulumi up` uploads dist/gcp/source.zip (`make package`)."""

import sys
from pathlib import Path

# Pulumi runs this folder as a script; the components are in the `infra_pulumi` package at
# the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pulumi
import pulumi_gcp as gcp

from infra_pulumi import contract
from infra_pulumi.gcp.config import load
from infra_pulumi.gcp.functions import Functions, FunctionsArgs
from infra_pulumi.gcp.lake import Lake, LakeArgs
from infra_pulumi.gcp.scheduler import Scheduler, SchedulerArgs
from infra_pulumi.gcp.secret_store import SecretStore, SecretStoreArgs

APIS = (
    "cloudfunctions", "run", "cloudbuild", "artifactregistry", "eventarc", "pubsub",
    "cloudscheduler", "secretmanager", "storage", "iam",
)  # fmt: skip

config = load()
common = config.common
apis = [
    gcp.projects.Service(f"api-{api}", service=f"{api}.googleapis.com", disable_on_destroy=False)
    for api in (*APIS, *(("aiplatform",) if config.uses_vertex else ()))
    if config.enable_apis
]
lake = Lake(
    f"{common.name}-lake",
    LakeArgs(
        bucket_prefix=config.bucket_prefix,
        location=config.region.upper(),
        retention_days=common.data_retention_days,
        protect=common.protect,
        labels=common.tags,
    ),
    pulumi.ResourceOptions(depends_on=apis),
)
secrets = SecretStore(
    f"{common.name}-secrets",
    SecretStoreArgs(
        prefix=f"{common.name}-",
        protect=common.protect,
        pii_hash_key=common.pii_hash_key,
        labels=common.tags,
    ),
    pulumi.ResourceOptions(depends_on=apis),
)
functions = Functions(
    f"{common.name}",
    FunctionsArgs(
        project=config.project,
        region=config.region,
        artifact=common.artifact("gcp"),
        source_bucket=lake.source_bucket.name,
        lake_buckets={container: bucket.name for container, bucket in lake.buckets.items()},
        lake_url=lake.lake_url,
        secret_id=secrets.secret.secret_id,
        secrets_prefix=f"{common.name}-",
        llm=common.llm,
        uses_vertex=config.uses_vertex,
        memory_mb=config.memory_mb,
        http_memory_mb=config.http_memory_mb,
        api_invokers=config.api_invokers,
        depends_on=apis,
        labels=common.tags,
    ),
)
Scheduler(
    f"{common.name}-schedule",
    SchedulerArgs(
        region=config.region,
        function_url=functions.functions["scheduled"].url,
        caller_email=functions.scheduler_account.email,
        schedules=common.schedules,
        depends_on=tuple(apis),
    ),
)
http_url = functions.functions["http"].url

pulumi.export("lake_url", lake.lake_url)
pulumi.export("landing_bucket", lake.buckets[contract.LANDING].name)
pulumi.export("function_urls", {h: f.url for h, f in functions.functions.items()})
pulumi.export("api_url", http_url)
pulumi.export("advisor_endpoint", pulumi.Output.concat(http_url, contract.ADVISOR_PATH))
pulumi.export("secret_store_uri", secrets.secret.id)
pulumi.export("runtime_service_account", functions.runtime_account.email)
