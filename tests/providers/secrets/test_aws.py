"""AWS Secrets Manager through boto3 against a real moto server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from providers.secrets import secrets_for
from providers.secrets.aws import AwsSecrets
from shared.errors import ConfigError, SecretNotFoundError, TerminalError, TransientError
from shared.settings import Settings
from tests.servers.moto import CREDENTIALS
from tests.servers.ports import HOST

pytestmark = pytest.mark.server

VALUE = "s3cr3t-value-never-shown"


@pytest.fixture
def environ(moto_endpoint: str) -> dict[str, str]:
    """The SDK variables of a deployment, pointed at the moto server."""
    return {**CREDENTIALS, "AWS_ENDPOINT_URL": moto_endpoint}


@pytest.fixture
def aws(moto_endpoint: str):
    """A boto3 Secrets Manager client of the moto server, to arrange secrets with."""
    return boto3.client(
        "secretsmanager",
        endpoint_url=moto_endpoint,
        region_name=CREDENTIALS["AWS_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def prefix() -> str:
    """A prefix no other test uses, so tests share the server without a reset."""
    return f"test-{uuid.uuid4().hex[:8]}/"


def test_reads_a_secret_created_in_the_store(environ, aws, prefix, moto_endpoint) -> None:
    aws.create_secret(Name=f"{prefix}pii-hash-key", SecretString=VALUE)
    settings = Settings.from_env(
        {**environ, "LAKEHOUSE_SECRETS": "aws", "LAKEHOUSE_SECRETS_PREFIX": prefix}
    )
    store = secrets_for(settings)
    assert isinstance(store, AwsSecrets)
    assert store.get("pii-hash-key") == VALUE
    assert store.description == f"AWS Secrets Manager (region eu-west-1, endpoint {moto_endpoint})"


def test_binary_secrets_are_read_as_utf8(environ, aws, prefix) -> None:
    aws.create_secret(Name=f"{prefix}key", SecretBinary=VALUE.encode())
    assert AwsSecrets(environ, prefix=prefix).get("key") == VALUE


def test_the_cache_serves_a_value_for_the_ttl_then_reads_the_rotated_one(
    environ, aws, prefix
) -> None:
    now = [0.0]
    store = AwsSecrets(environ, prefix=prefix, ttl=60, clock=lambda: now[0])
    aws.create_secret(Name=f"{prefix}key", SecretString=VALUE)
    assert store.get("key") == VALUE
    aws.put_secret_value(SecretId=f"{prefix}key", SecretString="rotated")
    now[0] = 59.0
    assert store.get("key") == VALUE
    now[0] = 60.0
    assert store.get("key") == "rotated"


def test_a_missing_secret_names_the_secret_region_and_endpoint(environ, prefix, moto_endpoint):
    with pytest.raises(SecretNotFoundError) as info:
        AwsSecrets(environ, prefix=prefix).get("pii-hash-key")
    error = info.value
    assert error.message == (
        f"secret '{prefix}pii-hash-key' not found in AWS Secrets Manager "
        f"(region eu-west-1, endpoint {moto_endpoint})"
    )
    assert "LAKEHOUSE_SECRETS_PREFIX" in error.hint
    assert "AWS_REGION" in error.hint


def test_the_region_comes_from_aws_region_then_aws_default_region(environ, aws, prefix):
    aws.create_secret(Name=f"{prefix}key", SecretString=VALUE)
    other_region = {**environ, "AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east-2"}
    store = AwsSecrets(other_region, prefix=prefix)
    with pytest.raises(SecretNotFoundError, match="region us-east-2"):
        store.get("key")
    assert store.client.meta.region_name == "us-east-2"


def test_the_secrets_manager_endpoint_wins_over_the_general_one(
    environ, aws, prefix, moto_endpoint
):
    aws.create_secret(Name=f"{prefix}key", SecretString=VALUE)
    unreachable = f"http://{HOST}:9"
    specific = {
        **environ,
        "AWS_ENDPOINT_URL": unreachable,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint,
    }
    assert AwsSecrets(specific, prefix=prefix).get("key") == VALUE


def test_no_region_names_the_setting() -> None:
    # The autouse fixture of this folder leaves boto3 no region in the process either.
    store = AwsSecrets({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
    with pytest.raises(ConfigError) as info:
        store.get("key")
    assert "AWS_REGION" in info.value.hint


def test_sdk_retry_policy_is_configured_and_the_variables_win(environ) -> None:
    default = AwsSecrets(environ).client.meta.config.retries
    assert default == {"mode": "standard", "total_max_attempts": 4}
    chosen = {**environ, "AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "7"}
    assert AwsSecrets(chosen).client.meta.config.retries == {
        "mode": "adaptive",
        "total_max_attempts": 7,
    }


def test_a_bad_max_attempts_names_the_variable(environ) -> None:
    with pytest.raises(ConfigError, match="AWS_MAX_ATTEMPTS must be a whole number"):
        AwsSecrets({**environ, "AWS_MAX_ATTEMPTS": "many"}).get("key")


@pytest.fixture
def hanging_up_endpoint() -> Iterator[tuple[str, list[int]]]:
    """An endpoint that accepts each connection and closes it at once; yields its URL and
    the list of connections it saw."""
    seen: list[int] = []
    listener = socket.create_server((HOST, 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            seen.append(1)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{listener.getsockname()[1]}", seen
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_broken_endpoint_is_retried_by_botocore_then_named(hanging_up_endpoint) -> None:
    url, seen = hanging_up_endpoint
    environ = {**CREDENTIALS, "AWS_ENDPOINT_URL": url, "AWS_MAX_ATTEMPTS": "3"}
    with pytest.raises(TransientError) as info:
        AwsSecrets(environ).get("pii-hash-key")
    assert len(seen) == 3
    error = info.value
    assert error.message.startswith(
        f"AWS Secrets Manager (region eu-west-1, endpoint {url}) is unreachable while "
        "reading secret 'pii-hash-key'"
    )
    assert "AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL" in error.hint


def stubbed(environ: dict[str, str]) -> tuple[AwsSecrets, Stubber]:
    """A store whose real client answers from botocore's Stubber (for answers moto's server
    does not give without IAM enforcement)."""
    store = AwsSecrets(environ)
    return store, Stubber(store.client)


DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/lakehouse-fn/lakehouse-ingest is not "
    "authorized to perform: secretsmanager:GetSecretValue on resource: pii-hash-key because "
    "no identity-based policy allows the secretsmanager:GetSecretValue action"
)


def test_access_denied_names_the_identity_to_fix(environ) -> None:
    store, stub = stubbed(environ)
    stub.add_client_error("get_secret_value", "AccessDeniedException", DENIED, http_status_code=400)
    with stub, pytest.raises(ConfigError) as info:
        store.get("pii-hash-key")
    error = info.value
    assert "access to secret 'pii-hash-key'" in error.message
    assert "assumed-role/lakehouse-fn" in error.message
    assert "IAM role" in error.hint
    assert "secretsmanager:GetSecretValue" in error.hint
    assert "AWS_PROFILE" in error.hint


@pytest.mark.parametrize(
    ("code", "status", "kind", "words"),
    [
        ("DecryptionFailure", 400, ConfigError, "kms:Decrypt"),
        ("ThrottlingException", 400, TransientError, "AWS_MAX_ATTEMPTS"),
        ("InternalServiceError", 500, TransientError, "retry later"),
        ("InvalidRequestException", 400, TerminalError, "AWS_ENDPOINT_URL"),
    ],
)
def test_other_service_errors(environ, code, status, kind, words) -> None:
    store, stub = stubbed(environ)
    stub.add_client_error("get_secret_value", code, "it failed", http_status_code=status)
    with stub, pytest.raises(kind) as info:
        store.get("pii-hash-key")
    assert type(info.value) is kind
    assert words in info.value.hint
