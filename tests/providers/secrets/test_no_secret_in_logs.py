"""No secret value in any log record (the SDKs' own DEBUG logs included), exception or repr,
for every cloud store, during lookups that succeed and lookups that fail."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Iterator

import boto3
import pytest
from google.auth.credentials import AnonymousCredentials

from providers.secrets.aws import AwsSecrets
from providers.secrets.base import CachedSecrets
from providers.secrets.gcp import GcpSecrets
from providers.secrets.keyvault import KeyVaultSecrets
from providers.secrets.redact import REDACTED
from tests.providers.secrets.gcp_stub import PROJECT, secret_manager_stub
from tests.providers.secrets.keyvault_stub import VAULT_URL, KeyVaultStub, StaticCredential
from tests.servers.moto import CREDENTIALS

VALUE = "pii-key-9f3c2a7e-never-logged"
FORMS = (VALUE, base64.b64encode(VALUE.encode()).decode(), VALUE.encode().hex())
"""The value as text, as base64 (Secret Manager's JSON payload) and as hex."""
SDK_LOGGERS = ("azure", "botocore", "boto3", "urllib3", "google", "requests")


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record at DEBUG, the SDK loggers' included. The Google client stops its
    `google` logger from propagating, so the capture handler is put on it as well."""
    caplog.set_level(logging.DEBUG)
    for name in SDK_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    google = logging.getLogger("google")
    google.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        google.removeHandler(caplog.handler)


def rendered(record: logging.LogRecord) -> str:
    """The record as any handler could show it: message, traceback and structured extras."""
    return logging.Formatter().format(record) + repr(vars(record))


def exception_text(error: BaseException) -> str:
    """What a traceback shows of an error and every error chained to it, and its repr."""
    return "".join(traceback.format_exception(error)) + repr(error)


def lookups(store: CachedSecrets, failing: list[str]) -> list[BaseException]:
    """Read the secret (twice: one from the cache) and each failing name; the errors."""
    assert store.get("pii-hash-key") == VALUE
    assert store.get("pii-hash-key") == VALUE
    errors = []
    for name in failing:
        with pytest.raises(Exception) as info:
            store.get(name)
        errors.append(info.value)
    return errors


def assert_no_value(captured, store: CachedSecrets, errors: list[BaseException]) -> None:
    shown = [rendered(r) for r in captured.records]
    shown += [exception_text(e) for e in errors]
    shown += [repr(store), repr(vars(store).get("_cache"))]
    for text in shown:
        for form in FORMS:
            assert form not in text


def loggers_seen(captured) -> set[str]:
    return {record.name for record in captured.records}


def test_aws_secrets_manager(captured, moto_endpoint: str) -> None:
    environ = {**CREDENTIALS, "AWS_ENDPOINT_URL": moto_endpoint}
    admin = boto3.client(
        "secretsmanager",
        endpoint_url=moto_endpoint,
        region_name=CREDENTIALS["AWS_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    admin.create_secret(Name="no-leak/pii-hash-key", SecretString=VALUE)
    captured.clear()  # creating it logged the value in botocore's request log; that is ours

    store = AwsSecrets(environ, prefix="no-leak/")
    errors = lookups(store, ["missing"])
    # The test saw botocore's DEBUG response body log, and that it came out redacted.
    bodies = [r for r in captured.records if r.name == "botocore.parsers"]
    assert any(REDACTED in r.getMessage() for r in bodies)
    assert_no_value(captured, store, errors)


def test_azure_key_vault(captured) -> None:
    stub = KeyVaultStub(secrets={"pii-hash-key": VALUE}, denied={"denied"}, fail_first=1)
    store = KeyVaultSecrets(
        VAULT_URL,
        credential=StaticCredential(),
        sdk_options={"transport": stub.transport(), "retry_backoff_factor": 0},
    )
    errors = lookups(store, ["missing", "denied"])
    assert "azure.core.pipeline.policies.http_logging_policy" in loggers_seen(captured)
    assert_no_value(captured, store, errors)


def test_gcp_secret_manager(captured) -> None:
    with secret_manager_stub(secrets={"pii-hash-key": VALUE}, denied={"denied"}) as stub:
        store = GcpSecrets(
            PROJECT,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": stub.url},
        )
        errors = lookups(store, ["missing", "denied"])
    transport = "google.cloud.secretmanager_v1.services.secret_manager_service.transports.rest"
    assert transport in loggers_seen(captured)
    assert_no_value(captured, store, errors)
