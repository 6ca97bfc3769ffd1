"""AWS: the lakehouse on S3, Lambda (container image), EventBridge, API Gateway and Secrets
Manager. Composes the components and exports what an operator needs; `pulumi up` builds and
pushes the image from dist/aws/image (`make package`), so Docker must be running."""

import sys
from pathlib import Path

# Pulumi runs this folder as a script; the components are in the `infra_pulumi` package at
# the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pulumi
import pulumi_aws as aws

from infra_pulumi import contract
from infra_pulumi.aws.api import Api, ApiArgs
from infra_pulumi.aws.config import load
from infra_pulumi.aws.functions import Functions, FunctionsArgs
from infra_pulumi.aws.lake import Lake, LakeArgs
from infra_pulumi.aws.monitoring import Alarms, AlarmsArgs
from infra_pulumi.aws.secret_store import SecretStore, SecretStoreArgs
from infra_pulumi.aws.triggers import Triggers, TriggersArgs

config = load()
common = config.common
secrets_prefix = f"{common.name}/"
lake = Lake(
    f"{common.name}-lake",
    LakeArgs(retention_days=common.data_retention_days, protect=common.protect, tags=common.tags),
)
secrets = SecretStore(
    f"{common.name}-secrets",
    SecretStoreArgs(
        prefix=secrets_prefix,
        kms_key_arn=lake.key.arn,
        recovery_days=common.data_retention_days,
        protect=common.protect,
        pii_hash_key=common.pii_hash_key,
        tags=common.tags,
    ),
)
functions = Functions(
    f"{common.name}-fn",
    FunctionsArgs(
        artifact=common.artifact("aws"),
        base_image=config.base_image,
        bucket_arn=lake.bucket.arn,
        lake_url=lake.lake_url,
        kms_key_arn=lake.key.arn,
        secret_arn=secrets.secret.arn,
        secrets_prefix=secrets_prefix,
        llm=common.llm,
        memory_mb=config.memory_mb,
        http_memory_mb=config.http_memory_mb,
        ephemeral_storage_mb=config.ephemeral_storage_mb,
        log_retention_days=common.log_retention_days,
        tags=common.tags,
    ),
)
Triggers(
    f"{common.name}-triggers",
    TriggersArgs(
        bucket_id=lake.bucket.id,
        bucket_arn=lake.bucket.arn,
        account_id=aws.get_caller_identity_output().account_id,
        ingest=functions.functions["ingest"],
        scheduled=functions.functions["scheduled"],
        schedules=common.schedules,
    ),
)
api = Api(
    f"{common.name}-api",
    ApiArgs(
        function=functions.functions["http"],
        log_retention_days=common.log_retention_days,
        tags=common.tags,
    ),
)
Alarms(
    f"{common.name}-alarms",
    AlarmsArgs(functions=functions.functions, alert_email=common.alert_email),
)

pulumi.export("lake_url", lake.lake_url)
pulumi.export("function_names", {h: f.name for h, f in functions.functions.items()})
pulumi.export("api_url", api.url)
pulumi.export("advisor_endpoint", pulumi.Output.concat(api.url, contract.ADVISOR_PATH))
pulumi.export("secret_store_uri", secrets.secret.arn)
pulumi.export("image", functions.image_ref)
