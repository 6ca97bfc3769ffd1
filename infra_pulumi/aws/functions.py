"""The three Lambda functions, run from one container image built from `make package`'s
context and pushed to a private, scanned ECR repository.

Each function has its own role with only what its handler does: `ingest` reads landing files
and writes Bronze and `_ops` (and moves rejected files); `scheduled` (Silver, Gold, monitor,
reconcile) also reads the PII key; `http` reads the lake and writes only `_ops/` and
`_reports/` (advisor calls and proposals).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from infra_pulumi import contract
from infra_pulumi.aws import iam
from infra_pulumi.config import Artifact, LlmConfig, app_environment

HTTP_TIMEOUT = 29  # API Gateway gives up after 30 s
TIMEOUTS = {"ingest": 300, "scheduled": 900, "http": HTTP_TIMEOUT}
SECRET_READERS = ("scheduled",)
HTTP_WRITES = ("_ops/", "_reports/")


@dataclass
class FunctionsArgs:
    artifact: Artifact
    base_image: str
    bucket_arn: pulumi.Input[str]
    lake_url: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    secret_arn: pulumi.Input[str]
    secrets_prefix: str
    llm: LlmConfig
    memory_mb: int
    http_memory_mb: int
    ephemeral_storage_mb: int
    log_retention_days: int
    tags: dict[str, str] = field(default_factory=dict)


def environment(args: FunctionsArgs, memory_mb: int) -> dict[str, pulumi.Input[str]]:
    """The settings the app reads; the secret is named, never included."""
    return app_environment(args.lake_url, "aws", memory_mb, args.llm) | {
        contract.SECRETS_PREFIX: args.secrets_prefix,
        contract.DUCKDB_TEMP: "/tmp/lakehouse-duckdb",
    }


class Functions(pulumi.ComponentResource):
    functions: dict[str, aws.lambda_.Function]
    image_ref: pulumi.Output[str]

    def __init__(
        self, name: str, args: FunctionsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lakehouse:aws:Functions", name, None, opts)
        self.image_ref = self._image(name, args)
        self.functions = {
            handler: self._function(name, handler, args) for handler in contract.HANDLERS
        }
        self.register_outputs({"image": self.image_ref})

    def _image(self, name: str, args: FunctionsArgs) -> pulumi.Output[str]:
        repository = aws.ecr.Repository(
            f"{name}-images",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            # Images hold code, not data: AES-256 at rest, with no key policy for Lambda's
            # image pulls to depend on.
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            force_delete=False,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-images-keep-recent",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": "keep the ten latest images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": 10,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        token = aws.ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        image = docker_build.Image(
            f"{name}-image",
            context=docker_build.BuildContextArgs(location=str(args.artifact.path)),
            dockerfile=docker_build.DockerfileArgs(location=str(args.artifact.path / "Dockerfile")),
            build_args={"BASE_IMAGE": args.base_image},
            platforms=[docker_build.Platform.LINUX_AMD64],
            # The tag is the context's digest: the same package never builds a new image.
            tags=[pulumi.Output.concat(repository.repository_url, ":", args.artifact.sha256[:16])],
            push=True,
            registries=[
                docker_build.RegistryArgs(
                    address=repository.repository_url,
                    username=token.user_name,
                    password=pulumi.Output.secret(token.password),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return image.ref

    def _function(self, name: str, handler: str, args: FunctionsArgs) -> aws.lambda_.Function:
        batch = handler != "http"
        memory = args.memory_mb if batch else args.http_memory_mb
        logs = aws.cloudwatch.LogGroup(
            f"{name}-{handler}-logs",
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        role = aws.iam.Role(
            f"{name}-{handler}-role",
            assume_role_policy=iam.assume_role("lambda.amazonaws.com"),
            description=f"Runs the lakehouse {handler} function",
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        statements = [
            *iam.lake_read(args.bucket_arn),
            iam.lake_write(args.bucket_arn, ("",) if batch else HTTP_WRITES),
            iam.kms_use(args.kms_key_arn),
            iam.log_write(logs.arn),
        ]
        if handler in SECRET_READERS:
            statements.append(iam.secret_read(args.secret_arn))
        policy = aws.iam.RolePolicy(
            f"{name}-{handler}-policy",
            role=role.id,
            policy=iam.document(statements),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.lambda_.Function(
            f"{name}-{handler}",
            package_type="Image",
            image_uri=self.image_ref,
            image_config=aws.lambda_.FunctionImageConfigArgs(
                commands=[contract.AWS_HANDLERS[handler]]
            ),
            architectures=["x86_64"],
            role=role.arn,
            memory_size=memory,
            timeout=TIMEOUTS[handler],
            ephemeral_storage=aws.lambda_.FunctionEphemeralStorageArgs(
                size=args.ephemeral_storage_mb if batch else 512
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment(args, memory)),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=logs.name
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )


def event_input(job: str) -> str:
    return json.dumps({"job": job})
