"""The log filters that blank secret payloads in the SDKs' debug records."""

from __future__ import annotations

import logging

from providers.secrets.redact import (
    REDACTED,
    BotocoreSecretBodyFilter,
    GooglePayloadFilter,
    redact_botocore_secret_bodies,
)

VALUE = "s3cr3t-value-never-shown"


def body_record(body: bytes) -> logging.LogRecord:
    """botocore's DEBUG record of a response body."""
    return logging.LogRecord(
        "botocore.parsers", logging.DEBUG, __file__, 1, "Response body:\n%r", (body,), None
    )


def test_the_botocore_filter_blanks_secret_bodies_only() -> None:
    secret = body_record(b'{"ARN":"arn","Name":"k","SecretString":"' + VALUE.encode() + b'"}')
    assert BotocoreSecretBodyFilter().filter(secret)
    assert secret.getMessage() == f"Response body:\n{REDACTED}"
    other = body_record(b'{"SecretList":[]}')
    assert BotocoreSecretBodyFilter().filter(other)
    assert other.getMessage() == "Response body:\nb'{\"SecretList\":[]}'"


def test_the_google_filter_blanks_payloads() -> None:
    record = logging.LogRecord("google.x", logging.DEBUG, __file__, 1, "Received", (), None)
    record.httpResponse = {"payload": f'{{"payload": {{"data": "{VALUE}"}}}}', "status": 200}
    assert GooglePayloadFilter().filter(record)
    assert record.httpResponse == {"payload": REDACTED, "status": 200}


def test_installing_twice_adds_one_filter() -> None:
    redact_botocore_secret_bodies()
    redact_botocore_secret_bodies()
    filters = logging.getLogger("botocore.parsers").filters
    assert sum(isinstance(f, BotocoreSecretBodyFilter) for f in filters) == 1
