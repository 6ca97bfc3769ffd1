"""Cloud Functions (2nd gen) from the source zip, each kind of caller with its own service
account and only the grants it needs:

- the functions run as `<name>-fn`: object user on each lake bucket, accessor of the one
  secret, and (when the advisor uses Vertex AI) Vertex AI user;
- Eventarc delivers landing-bucket events as `<name>-events` (run.invoker on `ingest` only);
- Cloud Scheduler calls `scheduled` as `<name>-sched` (run.invoker on it only);
- the HTTP API is invokable by the members in `apiInvokers` and nobody else.

`ingest` and `scheduled` accept internal traffic only (Eventarc and Cloud Scheduler are
internal callers); `http` is reachable from outside but requires an identity token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from infra_pulumi import contract
from infra_pulumi.config import Artifact, LlmConfig, app_environment

FINALIZED = "google.cloud.storage.object.v1.finalized"
TIMEOUTS = {"ingest": 540, "scheduled": 1800, "http": 60}
MAX_INSTANCES = {"ingest": 20, "scheduled": 3, "http": 10}
# Project-level grants Google requires for GCS -> Eventarc delivery; no narrower scope exists.
EVENTARC_RECEIVER = "roles/eventarc.eventReceiver"
PUBSUB_PUBLISHER = "roles/pubsub.publisher"
VERTEX_USER = "roles/aiplatform.user"


@dataclass
class FunctionsArgs:
    project: str
    region: str
    artifact: Artifact
    source_bucket: pulumi.Input[str]
    lake_buckets: Mapping[str, pulumi.Input[str]]
    """Container name -> bucket name; `landing` is the one Eventarc watches."""
    lake_url: str
    secret_id: pulumi.Input[str]
    secrets_prefix: str
    llm: LlmConfig
    uses_vertex: bool
    memory_mb: int
    http_memory_mb: int
    api_invokers: Sequence[str] = ()
    depends_on: Sequence[pulumi.Resource] = ()
    """The enabled Google APIs, so nothing is created before its API is on."""
    labels: dict[str, str] = field(default_factory=dict)


def environment(args: FunctionsArgs, memory_mb: int) -> dict[str, str]:
    """The settings the app reads; the secret is named, never included."""
    return app_environment(args.lake_url, "gcp", memory_mb, args.llm) | {
        contract.GCP_PROJECT: args.project,
        contract.SECRETS_PREFIX: args.secrets_prefix,
        contract.DUCKDB_TEMP: "/tmp/lakehouse-duckdb",
    }


class Functions(pulumi.ComponentResource):
    functions: dict[str, gcp.cloudfunctionsv2.Function]
    runtime_account: gcp.serviceaccount.Account
    scheduler_account: gcp.serviceaccount.Account

    def __init__(
        self, name: str, args: FunctionsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:gcp:Functions", name, None, opts)
        self._opts = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        self.runtime_account = self._account(name, "fn", "Runs the lakehouse functions")
        events_account = self._account(name, "events", "Delivers landing events to ingest")
        self.scheduler_account = self._account(name, "sched", "Starts scheduled lakehouse jobs")
        self._grant_runtime(name, args)
        source = gcp.storage.BucketObject(
            f"{name}-source",
            bucket=args.source_bucket,
            # Named by content: a new package is a new object, which redeploys the functions.
            name=f"source-{args.artifact.sha256[:16]}.zip",
            source=pulumi.FileAsset(str(args.artifact.path)),
            opts=self._opts,
        )
        self.functions = {
            handler: self._function(name, handler, args, source, events_account)
            for handler in contract.HANDLERS
        }
        self._allow_invoke(f"{name}-events-invoke-ingest", "ingest", events_account.member)
        self._allow_invoke(
            f"{name}-scheduler-invoke-scheduled", "scheduled", self.scheduler_account.member
        )
        for index, member in enumerate(args.api_invokers):
            self._allow_invoke(f"{name}-api-invoker-{index}", "http", member)
        gcp.projects.IAMMember(
            f"{name}-events-receiver",
            project=args.project,
            role=EVENTARC_RECEIVER,
            member=events_account.member,
            opts=self._opts,
        )
        storage_agent = gcp.storage.get_project_service_account_output(
            project=args.project, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        gcp.projects.IAMMember(
            f"{name}-gcs-publishes-events",
            project=args.project,
            role=PUBSUB_PUBLISHER,
            member=storage_agent.member,
            opts=self._opts,
        )
        self.register_outputs({"http_url": self.functions["http"].url})

    def _account(self, name: str, kind: str, purpose: str) -> gcp.serviceaccount.Account:
        return gcp.serviceaccount.Account(
            f"{name}-{kind}-sa",
            account_id=f"{name}-{kind}"[:30].rstrip("-"),
            display_name=purpose,
            opts=self._opts,
        )

    def _grant_runtime(self, name: str, args: FunctionsArgs) -> None:
        member = self.runtime_account.member
        for container, bucket in args.lake_buckets.items():
            gcp.storage.BucketIAMMember(
                f"{name}-objects-{container}",
                bucket=bucket,
                role="roles/storage.objectUser",
                member=member,
                opts=self._opts,
            )
        gcp.secretmanager.SecretIamMember(
            f"{name}-reads-pii-key",
            secret_id=args.secret_id,
            role="roles/secretmanager.secretAccessor",
            member=member,
            opts=self._opts,
        )
        if args.uses_vertex:
            # Vertex AI has no per-model IAM; the advisor's calls need this project role.
            gcp.projects.IAMMember(
                f"{name}-vertex-user",
                project=args.project,
                role=VERTEX_USER,
                member=member,
                opts=self._opts,
            )

    def _function(
        self,
        name: str,
        handler: str,
        args: FunctionsArgs,
        source: gcp.storage.BucketObject,
        events_account: gcp.serviceaccount.Account,
    ) -> gcp.cloudfunctionsv2.Function:
        batch = handler != "http"
        memory = args.memory_mb if batch else args.http_memory_mb
        trigger = None
        if handler == "ingest":
            trigger = gcp.cloudfunctionsv2.FunctionEventTriggerArgs(
                event_type=FINALIZED,
                event_filters=[
                    gcp.cloudfunctionsv2.FunctionEventTriggerEventFilterArgs(
                        attribute="bucket", value=args.lake_buckets[contract.LANDING]
                    )
                ],
                # Names under `_rejected/` (any `_` folder) are skipped by the handler: GCS
                # events cannot be filtered by object name.
                retry_policy="RETRY_POLICY_RETRY",
                service_account_email=events_account.email,
                trigger_region=args.region,
            )
        return gcp.cloudfunctionsv2.Function(
            f"{name}-{handler}",
            location=args.region,
            description=f"lakehouse {handler}",
            build_config=gcp.cloudfunctionsv2.FunctionBuildConfigArgs(
                runtime="python311",
                entry_point=handler,
                source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceArgs(
                    storage_source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceStorageSourceArgs(
                        bucket=args.source_bucket, object=source.name
                    )
                ),
            ),
            service_config=gcp.cloudfunctionsv2.FunctionServiceConfigArgs(
                available_memory=f"{memory}Mi",
                available_cpu="2" if memory >= 4096 else "1",
                timeout_seconds=TIMEOUTS[handler],
                max_instance_count=MAX_INSTANCES[handler],
                ingress_settings="ALLOW_INTERNAL_ONLY" if batch else "ALLOW_ALL",
                all_traffic_on_latest_revision=True,
                service_account_email=self.runtime_account.email,
                environment_variables=environment(args, memory),
            ),
            event_trigger=trigger,
            labels=args.labels,
            opts=self._opts,
        )

    def _allow_invoke(self, name: str, handler: str, member: pulumi.Input[str]) -> None:
        function = self.functions[handler]
        gcp.cloudrunv2.ServiceIamMember(
            name,
            name=function.service_config.apply(lambda config: config.service),
            location=function.location,
            role="roles/run.invoker",
            member=member,
            opts=self._opts,
        )
