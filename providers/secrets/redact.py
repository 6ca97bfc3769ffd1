"""Keep secret values out of the SDKs' own debug logs.

At DEBUG, botocore logs every response body ("Response body: b'{...SecretString...}'") and
the Google client logs request and response payloads as structured fields. Someone turning
on DEBUG to chase a network problem must not get the PII key in the function's logs, so
these filters blank exactly those payloads and let every other record through unchanged.
Azure's HTTP logging policy logs no bodies (unless a client enables `logging_enable`,
which ours never does).
"""

from __future__ import annotations

import logging
from typing import Any

REDACTED = "<redacted: a secret store payload>"
BOTOCORE_BODY_LOGGER = "botocore.parsers"
BOTOCORE_MARKERS = ("SecretString", "SecretBinary")
GOOGLE_TRANSPORT_LOGGERS = tuple(
    f"google.cloud.secretmanager_v1.services.secret_manager_service.transports.{name}"
    for name in ("rest", "grpc", "grpc_asyncio")
)
GOOGLE_PAYLOAD_FIELDS = ("httpRequest", "httpResponse", "request", "response")


class _Redacted:
    """Stands in for a payload in a record's args; shows the same under %s and %r."""

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__


def _holds_secret(value: Any) -> bool:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    return isinstance(value, str) and any(marker in value for marker in BOTOCORE_MARKERS)


class BotocoreSecretBodyFilter(logging.Filter):
    """Blanks logged response bodies that carry a Secrets Manager value."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_holds_secret(a) for a in record.args):
            record.args = tuple(_Redacted() if _holds_secret(a) else a for a in record.args)
        elif _holds_secret(record.msg):
            record.msg, record.args = REDACTED, ()
        return True


class GooglePayloadFilter(logging.Filter):
    """Blanks the payload of the Secret Manager transport's structured debug records."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in GOOGLE_PAYLOAD_FIELDS:
            fields = getattr(record, name, None)
            if isinstance(fields, dict) and fields.get("payload") is not None:
                setattr(record, name, {**fields, "payload": REDACTED})
        return True


def _install(logger_name: str, kind: type[logging.Filter]) -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, kind) for f in logger.filters):
        logger.addFilter(kind())


def redact_botocore_secret_bodies() -> None:
    """Install the botocore filter once (a logger filter sees the records that logger makes,
    and botocore logs bodies from `botocore.parsers` only)."""
    _install(BOTOCORE_BODY_LOGGER, BotocoreSecretBodyFilter)


def redact_google_secret_payloads() -> None:
    """Install the Google filter once on each Secret Manager transport logger."""
    for name in GOOGLE_TRANSPORT_LOGGERS:
        _install(name, GooglePayloadFilter)
