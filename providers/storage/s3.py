"""Amazon S3 backend (and any S3-compatible endpoint: MinIO, Ceph, R2, a local server).

Settings are the SDK's own environment variables: `AWS_ENDPOINT_URL` (or
`AWS_ENDPOINT_URL_S3`), `AWS_REGION`, `AWS_PROFILE` and the usual credential chain (a
Lambda's execution role, instance profile, SSO, keys). delta-rs gets the same resolved
credentials, and commits with S3 conditional writes (`If-None-Match`), so concurrent
writers never overwrite each other's log entries.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

from providers.storage.layout import Layout
from providers.storage.objects import ObjectStorage
from shared.errors import ConfigError, TransientError

SETTING = "LAKEHOUSE_LAKE"
RETRIES = "AWS_MAX_ATTEMPTS"


class S3Storage(ObjectStorage):
    """A lake in an S3 bucket: `s3://bucket[/prefix]`, or `s3://name-{layer}`."""

    def __init__(self, url: str, environ: Mapping[str, str], *, client: Any | None = None) -> None:
        bucket, _, prefix = url.split("://", 1)[1].partition("/")
        super().__init__(Layout.parse("s3", bucket, prefix, url, SETTING))
        self._environ = environ
        self.endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
        self.region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        if client is not None:
            self.__dict__["client"] = client

    @cached_property
    def session(self) -> boto3.Session:
        env = self._environ
        return boto3.Session(
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=env.get("AWS_SESSION_TOKEN"),
            profile_name=env.get("AWS_PROFILE") if not env.get("AWS_ACCESS_KEY_ID") else None,
            region_name=self.region,
        )

    @cached_property
    def client(self) -> Any:
        # The SDK's standard retry mode: exponential backoff with jitter on throttling,
        # 5xx and connection errors; the SDK's own variable sets the attempts.
        attempts = int(self._environ.get(RETRIES) or 5)
        config = Config(
            retries={"mode": "standard", "total_max_attempts": attempts},
            connect_timeout=10,
            read_timeout=60,
        )
        return self.session.client("s3", endpoint_url=self.endpoint, config=config)

    def _keys(self, container: str, prefix: str) -> list[str]:
        keys: list[str] = []
        with self._errors(container, prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=container, Prefix=prefix
            )
            for page in pages:
                keys += [item["Key"] for item in page.get("Contents", [])]
        return [k for k in keys if not k.endswith("/")]

    def _get(self, container: str, key: str) -> bytes:
        with self._errors(container, key):
            return self.client.get_object(Bucket=container, Key=key)["Body"].read()

    def _put(self, container: str, key: str, data: bytes) -> None:
        with self._errors(container, key):
            self.client.put_object(Bucket=container, Key=key, Body=data)

    def _remove(self, container: str, key: str) -> None:
        with self._errors(container, key):
            self.client.delete_object(Bucket=container, Key=key)

    def _has(self, container: str, key: str) -> bool:
        try:
            with self._errors(container, key):
                self.client.head_object(Bucket=container, Key=key)
        except FileNotFoundError:
            return False
        return True

    def _copy(self, container: str, key: str, target_container: str, target_key: str) -> None:
        with self._errors(container, key):
            # The managed copy splits objects over 5 GB into parts; CopyObject alone cannot.
            self.client.copy({"Bucket": container, "Key": key}, target_container, target_key)

    def delta_options(self) -> dict[str, str]:
        options = {"aws_conditional_put": "etag", "aws_region": self.region or "us-east-1"}
        if self.endpoint:
            options["aws_endpoint"] = self.endpoint
            if self.endpoint.startswith("http://"):
                options["aws_allow_http"] = "true"
        with self._errors(self.layout.container, ""):
            credentials = self.session.get_credentials()
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            options["aws_access_key_id"] = frozen.access_key
            options["aws_secret_access_key"] = frozen.secret_key
            if frozen.token:
                options["aws_session_token"] = frozen.token
        return options

    @contextmanager
    def _errors(self, container: str, key: str) -> Iterator[None]:
        """SDK errors as errors that name the setting to fix (never a credential)."""
        where = f"s3://{container}/{key}"
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket":
                raise ConfigError(
                    f"S3 bucket {container!r} does not exist",
                    hint=f"create it, or fix the bucket in {SETTING}",
                ) from None
            if code in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(f"no such object: {where}") from None
            if code in ("AccessDenied", "403", "Forbidden", "InvalidAccessKeyId") or status == 403:
                raise ConfigError(
                    f"access to {where} was denied ({code})",
                    hint="grant the function's IAM role s3:GetObject/PutObject/DeleteObject/"
                    "ListBucket on the bucket, or fix AWS_PROFILE / AWS_ACCESS_KEY_ID",
                ) from None
            raise TransientError(f"S3 request on {where} failed: {code or exc}") from None
        except NoCredentialsError:
            raise ConfigError(
                "no AWS credentials found",
                hint="run with an IAM role, or set AWS_PROFILE or AWS_ACCESS_KEY_ID",
            ) from None
        except EndpointConnectionError:
            raise ConfigError(
                f"cannot reach the S3 endpoint {self.endpoint or 'of AWS'}",
                hint="check AWS_ENDPOINT_URL (unset it for AWS itself) and AWS_REGION",
            ) from None
        except BotoCoreError as exc:
            raise TransientError(f"S3 request on {where} failed: {exc}") from None
