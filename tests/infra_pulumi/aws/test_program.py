"""The AWS program under mocks: inventory, bucket security, per-function IAM scoped to this
stack's resources, triggers and schedules against the function app's contract."""

from __future__ import annotations

import json

import pytest

from infra_pulumi import contract, schedules
from infra_pulumi.aws.functions import HTTP_WRITES, SECRET_READERS
from tests.infra_pulumi.harness import Deployment, rpc, stack_config

FUNCTION = "aws:lambda/function:Function"


def functions(deployment: Deployment) -> dict[str, object]:
    by_handler = {}
    for function in deployment.of(FUNCTION):
        command = function.get("imageConfig", "commands")[0]
        by_handler[command.rsplit(".", 1)[-1]] = function
    return by_handler


def test_inventory(aws_dev: Deployment) -> None:
    assert aws_dev.types() == {
        "aws:apigatewayv2/api:Api": 1,
        "aws:apigatewayv2/integration:Integration": 1,
        "aws:apigatewayv2/route:Route": len(contract.HTTP_ROUTES),
        "aws:apigatewayv2/stage:Stage": 1,
        "aws:cloudwatch/eventRule:EventRule": 4,
        "aws:cloudwatch/eventTarget:EventTarget": 4,
        "aws:cloudwatch/logGroup:LogGroup": 4,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 3,
        "aws:ecr/lifecyclePolicy:LifecyclePolicy": 1,
        "aws:ecr/repository:Repository": 1,
        "aws:iam/role:Role": 3,
        "aws:iam/rolePolicy:RolePolicy": 3,
        "aws:kms/key:Key": 1,
        "aws:lambda/function:Function": 3,
        "aws:lambda/permission:Permission": 6,
        "aws:s3/bucket:Bucket": 1,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
        "aws:s3/bucketNotification:BucketNotification": 1,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
        "aws:s3/bucketPolicy:BucketPolicy": 1,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
        "aws:s3/bucketVersioning:BucketVersioning": 1,
        "aws:secretsmanager/secret:Secret": 1,
        "aws:secretsmanager/secretVersion:SecretVersion": 1,
        "aws:sns/topic:Topic": 1,
        "docker-build:index:Image": 1,
        "lakehouse:aws:Alarms": 1,
        "lakehouse:aws:Api": 1,
        "lakehouse:aws:Functions": 1,
        "lakehouse:aws:Lake": 1,
        "lakehouse:aws:SecretStore": 1,
        "lakehouse:aws:Triggers": 1,
        "random:index/randomPassword:RandomPassword": 1,
    }


@pytest.mark.parametrize("stack", ["aws_dev", "aws_prod"])
def test_bucket_is_private_encrypted_versioned_and_tls_only(
    request: pytest.FixtureRequest, stack: str
) -> None:
    deployment = request.getfixturevalue(stack)
    bucket = deployment.one("aws:s3/bucket:Bucket")
    key = deployment.one("aws:kms/key:Key")
    assert key.get("enableKeyRotation") is True
    block = deployment.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.get("bucket") == bucket.id
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert block.get(flag) is True
    ownership = deployment.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.get("rule", "objectOwnership") == "BucketOwnerEnforced"
    encryption = deployment.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    rule = encryption.get("rules")[0]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key.outputs["arn"],
    }
    versioning = deployment.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.get("versioningConfiguration", "status") == "Enabled"
    retention = int(stack_config("aws", stack.split("_")[1])["lakehouse-aws:dataRetentionDays"])
    lifecycle = deployment.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.get("rules")[0]["noncurrentVersionExpiration"]["noncurrentDays"] == retention
    statements = json.loads(deployment.one("aws:s3/bucketPolicy:BucketPolicy").get("policy"))[
        "Statement"
    ]
    assert {s["Effect"] for s in statements} == {"Deny"}
    conditions = [s["Condition"] for s in statements]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": "1.2"}} in conditions
    assert bucket.protect is (stack == "aws_prod")


def test_each_role_reaches_only_this_stacks_resources(aws_dev: Deployment) -> None:
    bucket = aws_dev.one("aws:s3/bucket:Bucket").outputs["arn"]
    key = aws_dev.one("aws:kms/key:Key").outputs["arn"]
    secret = aws_dev.one("aws:secretsmanager/secret:Secret").outputs["arn"]
    logs = {g.outputs["arn"] + ":*" for g in aws_dev.of("aws:cloudwatch/logGroup:LogGroup")}
    own = {bucket, f"{bucket}/*", key, secret, *logs} | {f"{bucket}/{p}*" for p in HTTP_WRITES}
    roles = {role.outputs["name"]: role for role in aws_dev.of("aws:iam/role:Role")}
    for handler, function in functions(aws_dev).items():
        role = next(r for r in roles.values() if r.outputs["arn"] == function.get("role"))
        assert json.loads(role.get("assumeRolePolicy"))["Statement"][0]["Principal"] == {
            "Service": "lambda.amazonaws.com"
        }
        assert role.get("managedPolicyArns") is None
        policy = next(
            p for p in aws_dev.of("aws:iam/rolePolicy:RolePolicy") if p.get("role") == role.id
        )
        statements = json.loads(policy.get("policy"))["Statement"]
        resources = {arn for s in statements for arn in s["Resource"]}
        actions = {a for s in statements for a in s["Action"]}
        assert resources <= own, resources - own
        assert not any(a == "*" or a.endswith(":*") for a in actions)
        assert ("secretsmanager:GetSecretValue" in actions) is (handler in SECRET_READERS)
        writes = {arn for s in statements if "s3:PutObject" in s["Action"] for arn in s["Resource"]}
        if handler == "http":
            assert writes == {f"{bucket}/{p}*" for p in HTTP_WRITES}
        else:
            assert writes == {f"{bucket}/*"}


def test_functions_run_the_image_with_the_contract_settings(aws_dev: Deployment) -> None:
    image = aws_dev.one("docker-build:index:Image")
    assert image.get("platforms") == ["linux/amd64"]
    assert image.get("context", "location").endswith("aws/image")
    bucket = aws_dev.one("aws:s3/bucket:Bucket").outputs["bucket"]
    by_handler = functions(aws_dev)
    assert sorted(by_handler) == sorted(contract.HANDLERS)
    for handler, function in by_handler.items():
        assert function.get("packageType") == "Image"
        assert function.get("imageUri") == image.outputs["ref"]
        assert function.get("imageConfig", "commands") == [contract.AWS_HANDLERS[handler]]
        env = function.get("environment", "variables")
        assert env[contract.LAKE] == f"s3://{bucket}/"
        assert env[contract.SECRETS] == "aws"
        assert env[contract.SECRETS_PREFIX] == "lakehouse-dev/"
        assert env[contract.LLM] == "offline"
    secret = aws_dev.one("aws:secretsmanager/secret:Secret")
    assert secret.get("name") == f"lakehouse-dev/{contract.PII_HASH_KEY}"
    assert secret.get("kmsKeyId") == aws_dev.one("aws:kms/key:Key").outputs["arn"]
    version = aws_dev.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert rpc.is_rpc_secret(version.inputs["secretString"])


def test_landing_uploads_trigger_ingest(aws_dev: Deployment) -> None:
    notification = aws_dev.one("aws:s3/bucketNotification:BucketNotification")
    (target,) = notification.get("lambdaFunctions")
    assert target["filterPrefix"] == "landing/"
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert target["lambdaFunctionArn"] == functions(aws_dev)["ingest"].outputs["arn"]


@pytest.mark.parametrize("stack", ["aws_dev", "aws_prod"])
def test_schedules_are_the_configured_ones(request: pytest.FixtureRequest, stack: str) -> None:
    deployment = request.getfixturevalue(stack)
    config = stack_config("aws", stack.split("_")[1])
    rules = {r.id: r for r in deployment.of("aws:cloudwatch/eventRule:EventRule")}
    scheduled = functions(deployment)["scheduled"].outputs["arn"]
    jobs = {}
    for target in deployment.of("aws:cloudwatch/eventTarget:EventTarget"):
        assert target.get("arn") == scheduled
        rule = next(r for r in rules.values() if r.outputs["name"] == target.get("rule"))
        jobs[json.loads(target.get("input"))["job"]] = rule.get("scheduleExpression")
    assert jobs == {
        job: schedules.to_eventbridge(
            config.get(f"lakehouse-aws:{job}Schedule", contract.DEFAULT_SCHEDULES[job])
        )
        for job in contract.JOBS
    }


def test_every_api_route_requires_iam(aws_dev: Deployment) -> None:
    routes = aws_dev.of("aws:apigatewayv2/route:Route")
    assert sorted(r.get("routeKey") for r in routes) == sorted(contract.HTTP_ROUTES)
    assert {r.get("authorizationType") for r in routes} == {"AWS_IAM"}
    integration = aws_dev.one("aws:apigatewayv2/integration:Integration")
    assert integration.get("payloadFormatVersion") == "2.0"
    stage = aws_dev.one("aws:apigatewayv2/stage:Stage")
    assert stage.get("accessLogSettings", "destinationArn")


def test_logs_are_kept_and_errors_alarm(aws_prod: Deployment) -> None:
    days = int(stack_config("aws", "prod")["lakehouse-aws:logRetentionDays"])
    assert {g.get("retentionInDays") for g in aws_prod.of("aws:cloudwatch/logGroup:LogGroup")} == {
        days
    }
    alarms = aws_prod.of("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert {a.get("metricName") for a in alarms} == {"Errors"}
    assert len(alarms) == len(contract.HANDLERS)
    subscription = aws_prod.one("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.get("protocol") == "email"
