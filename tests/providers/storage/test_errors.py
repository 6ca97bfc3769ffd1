"""A missing container or bucket, a denied permission and a wrong endpoint each give one
clear error naming the setting to fix, on the real local servers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from providers.storage import storage_for
from shared.errors import ConfigError
from tests.servers import lakes
from tests.servers.azurite import ACCOUNT, KEY
from tests.servers.ports import free_port
from tests.servers.process import serve


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_s3_missing_bucket(moto_endpoint: str) -> None:
    store = storage_for("s3://no-such-bucket/lake", lakes.s3_environ(moto_endpoint))
    with pytest.raises(ConfigError) as info:
        store.list("landing")
    assert "S3 bucket 'no-such-bucket' does not exist" in str(info.value)
    assert "LAKEHOUSE_LAKE" in str(info.value)


def test_s3_wrong_endpoint() -> None:
    environ = {**lakes.s3_environ(closed_port_url()), "AWS_MAX_ATTEMPTS": "1"}
    store = storage_for("s3://lake/x", environ)
    with pytest.raises(ConfigError) as info:
        store.read_bytes("landing/a.csv")
    assert "cannot reach the S3 endpoint" in str(info.value)
    assert "AWS_ENDPOINT_URL" in str(info.value)


def test_s3_denied(tmp_path: Path) -> None:
    # A second moto server that enforces IAM from its first request: unknown keys are
    # refused as they are by AWS.
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    endpoint = f"http://127.0.0.1:{port}"
    with serve(
        "moto", command, port, tmp_path / "moto.log", env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    ):
        store = storage_for("s3://lake/x", lakes.s3_environ(endpoint))
        with pytest.raises(ConfigError) as info:
            store.list("landing")
    message = str(info.value)
    assert "access to s3://lake/x/landing/ was denied" in message
    assert "IAM role" in message
    assert "testing" not in message.replace("s3://", "")  # no key in the message


def test_azure_missing_container(azurite_connection: str) -> None:
    environ = {"AZURE_STORAGE_CONNECTION_STRING": azurite_connection}
    store = storage_for("az://no-such-container/lake", environ)
    with pytest.raises(ConfigError) as info:
        store.list("landing")
    assert f"container 'no-such-container' does not exist in storage account '{ACCOUNT}'" in str(
        info.value
    )
    assert "LAKEHOUSE_LAKE" in str(info.value)


def test_azure_denied_with_a_wrong_key(azurite_connection: str) -> None:
    target = lakes.azure_lake(azurite_connection)
    wrong = azurite_connection.replace(KEY, "d3Jvbmcta2V5" * 4)
    store = storage_for(target.url, {"AZURE_STORAGE_CONNECTION_STRING": wrong})
    with pytest.raises(ConfigError) as info:
        store.list("landing")
    message = str(info.value)
    assert "was denied" in message
    assert "Storage Blob Data Contributor" in message
    assert "d3Jvbmcta2V5" not in message


def test_azure_wrong_endpoint() -> None:
    endpoint = closed_port_url()
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"BlobEndpoint={endpoint}/{ACCOUNT};"
    )
    environ = {"AZURE_STORAGE_CONNECTION_STRING": connection, "LAKEHOUSE_STORAGE_RETRIES": "1"}
    store = storage_for("az://lake/x", environ)
    with pytest.raises(ConfigError) as info:
        store.list("landing")
    assert f"cannot reach the blob endpoint of storage account '{ACCOUNT}'" in str(info.value)
    assert "AZURE_STORAGE_CONNECTION_STRING" in str(info.value)


def test_azure_url_without_an_account() -> None:
    with pytest.raises(ConfigError) as info:
        storage_for("az://lake/x", {})
    assert "names no storage account" in str(info.value)
    assert "AZURE_STORAGE_ACCOUNT_NAME" in str(info.value)
