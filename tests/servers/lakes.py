"""A fresh, empty lake on each backend, for tests that run the same work everywhere.

Each cloud lake gets containers (buckets) of its own, so tests never see each other's data.
Azure uses a container per layer (the `{layer}` URL form the function app deploys with);
S3 uses one bucket with a prefix.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from providers.storage.layout import LAYERS, container_for_layer

BACKENDS = ("local", "azure", "s3")


@dataclass(frozen=True)
class LakeTarget:
    """Where a test lake lives and the environment that reaches it."""

    backend: str
    url: str
    environ: dict[str, str] = field(default_factory=dict)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def local_lake(tmp_path: Path) -> LakeTarget:
    return LakeTarget("local", str(tmp_path / "lake"))


def azure_lake(connection_string: str) -> LakeTarget:
    from azure.storage.blob import BlobServiceClient

    name = unique("t")
    service = BlobServiceClient.from_connection_string(connection_string)
    for layer in LAYERS:
        service.create_container(f"{name}-{container_for_layer(layer)}")
    return LakeTarget(
        "azure",
        f"az://{name}-{{layer}}/",
        {"AZURE_STORAGE_CONNECTION_STRING": connection_string},
    )


def s3_environ(endpoint: str) -> dict[str, str]:
    # moto accepts any key; these are not secrets.
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def s3_lake(endpoint: str) -> LakeTarget:
    import boto3

    bucket = unique("lake")
    environ = s3_environ(endpoint)
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    return LakeTarget("s3", f"s3://{bucket}/retail", environ)
