"""A fresh, empty lake on each backend, for tests that run the same work everywhere.

Each cloud lake gets containers (buckets) of its own, so tests never see each other's data.
Azure and GCS use a container (bucket) per layer (the `{layer}` URL form their deployments
use); S3 uses one bucket with a prefix.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from providers.storage.layout import LAYERS, container_for_layer

BACKENDS = ("local", "azure", "s3", "gcs")


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


def gcs_environ(endpoint: str) -> dict[str, str]:
    return {"STORAGE_EMULATOR_HOST": endpoint, "GOOGLE_CLOUD_PROJECT": "test"}


def gcs_lake(endpoint: str) -> LakeTarget:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    name = unique("t")
    client = storage.Client(
        project="test",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )
    for layer in LAYERS:
        client.create_bucket(f"{name}-{container_for_layer(layer)}")
    return LakeTarget("gcs", f"gs://{name}-{{layer}}", gcs_environ(endpoint))
