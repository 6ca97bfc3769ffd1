"""Platform: the PII key comes from the configured secret store; a key is generated only
for a local lake on the env backend."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest

from providers.secrets import EnvSecrets
from providers.secrets.aws import AwsSecrets
from shared.errors import SecretNotFoundError
from shared.jobs import Platform
from shared.settings import Settings
from tests.servers.moto import CREDENTIALS

VALUE = "s3cr3t-value-never-shown"


def aws_settings(tmp_path: Path, moto_endpoint: str, prefix: str) -> Settings:
    environ = {
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "LAKEHOUSE_SECRETS": "aws",
        "LAKEHOUSE_SECRETS_PREFIX": prefix,
    }
    return Settings.from_env(environ, lake_url=str(tmp_path / "lake"))


@pytest.mark.server
def test_the_pii_key_comes_from_a_cloud_store(tmp_path: Path, moto_endpoint: str) -> None:
    prefix = f"jobs-{uuid.uuid4().hex[:8]}/"
    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_endpoint,
        region_name=CREDENTIALS["AWS_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_secret(Name=f"{prefix}pii-hash-key", SecretString=VALUE)
    platform = Platform(aws_settings(tmp_path, moto_endpoint, prefix))
    assert isinstance(platform.secrets, AwsSecrets)
    assert platform.pii_key() == VALUE.encode()


@pytest.mark.server
def test_a_cloud_store_without_the_key_fails_and_nothing_is_generated(
    tmp_path: Path, moto_endpoint: str
) -> None:
    platform = Platform(aws_settings(tmp_path, moto_endpoint, f"jobs-{uuid.uuid4().hex[:8]}/"))
    with pytest.raises(SecretNotFoundError, match="pii-hash-key' not found in AWS Secrets"):
        platform.pii_key()
    assert not any(path.name == "pii-hash-key" for path in tmp_path.rglob("*"))


def test_a_local_lake_on_the_env_backend_generates_a_key_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the working folder
    settings = Settings.from_env({}, lake_url=str(tmp_path / "lake"))
    platform = Platform(settings)
    assert isinstance(platform.secrets, EnvSecrets)
    key = platform.pii_key()
    assert (tmp_path / ".secrets" / "pii-hash-key").read_bytes() == key
    assert Platform(settings).pii_key() == key


@pytest.mark.server
def test_a_warm_process_reuses_the_cloud_store_and_its_cache(
    tmp_path: Path, moto_endpoint: str
) -> None:
    prefix = f"jobs-{uuid.uuid4().hex[:8]}/"
    settings = aws_settings(tmp_path, moto_endpoint, prefix)
    first, second = Platform(settings), Platform(settings)  # two invocations, one process
    assert first.secrets is second.secrets
    other = aws_settings(tmp_path, moto_endpoint, prefix + "x/")
    assert Platform(other).secrets is not first.secrets  # other settings, another store
