"""Google Cloud Storage backend.

Identity: Application Default Credentials (the attached service account of a Cloud Function
or Cloud Run service, `gcloud auth application-default login` on a laptop, or the key file
named by GOOGLE_APPLICATION_CREDENTIALS, which ADC reads from the process environment);
project from GOOGLE_CLOUD_PROJECT. With STORAGE_EMULATOR_HOST set (the SDK's own variable),
requests go to that endpoint without credentials, as the SDK does for an emulator.

delta-rs (object_store's GCS backend) resolves ADC itself and refreshes its tokens: a
service-account key file, gcloud's user credentials or the metadata server (not workload
identity federation files). It commits a log entry with `x-goog-if-generation-match: 0`, so
of two writers racing for one version exactly one wins and the other retries on the next.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import google.auth
import requests
from google.api_core import exceptions as api
from google.api_core.retry import Retry
from google.auth import exceptions as auth
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from providers.storage.layout import Layout
from providers.storage.objects import ObjectStorage
from shared.errors import ConfigError, TransientError

SETTING = "LAKEHOUSE_LAKE"
EMULATOR = "STORAGE_EMULATOR_HOST"
CREDENTIALS = "GOOGLE_APPLICATION_CREDENTIALS"
PROJECT = "GOOGLE_CLOUD_PROJECT"
SCOPES = ("https://www.googleapis.com/auth/devstorage.read_write",)
# Seconds to connect and to wait for a response, per request; the retry policy bounds the
# whole call (DEFAULT_RETRY: exponential backoff on 429, 5xx and connection errors, 120 s).
TIMEOUT = (10, 120)
IDENTITY_HINT = (
    "give the service account the function runs as roles/storage.objectAdmin on the bucket, "
    f"or point {CREDENTIALS} at a key of one that has it"
)


class GcsStorage(ObjectStorage):
    """A lake in a GCS bucket: `gs://bucket[/prefix]`, or `gs://name-{layer}` (one bucket
    per layer, as the GCP deployment creates them)."""

    def __init__(
        self,
        url: str,
        environ: Mapping[str, str],
        *,
        client: storage.Client | None = None,
        retry: Retry = DEFAULT_RETRY,
    ) -> None:
        bucket, _, prefix = url.split("://", 1)[1].partition("/")
        super().__init__(Layout.parse("gs", bucket, prefix, url, SETTING))
        self._environ = environ
        emulator = (environ.get(EMULATOR) or "").rstrip("/")
        # The SDK accepts a bare host:port here; delta-rs needs the scheme.
        if emulator and "://" not in emulator:
            emulator = f"http://{emulator}"
        self.emulator = emulator or None
        self.project = environ.get(PROJECT) or environ.get("GCLOUD_PROJECT") or None
        # Every call of the lake writes or copies whole objects of fixed bytes, so repeating
        # one after an ambiguous failure leaves the same object: the idempotence the SDK's
        # conditional policy asks a generation precondition to prove. Hence one policy.
        self._retry = retry
        if client is not None:
            self.__dict__["client"] = client

    @cached_property
    def client(self) -> storage.Client:
        if self.emulator:
            return storage.Client(
                project=self.project or "emulator",
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.emulator},
            )
        with self._errors(self.layout.container, None):
            credentials, project = google.auth.default(scopes=SCOPES)
        return storage.Client(project=self.project or project, credentials=credentials)

    def _call(self) -> dict[str, Any]:
        return {"retry": self._retry, "timeout": TIMEOUT}

    def _blob(self, container: str, key: str) -> storage.Blob:
        return self.client.bucket(container).blob(key)

    def _keys(self, container: str, prefix: str) -> list[str]:
        with self._errors(container, None):
            blobs = self.client.list_blobs(container, prefix=prefix or None, **self._call())
            # Console-made "folders" are empty objects named with a trailing slash.
            return [b.name for b in blobs if not b.name.endswith("/")]

    def _get(self, container: str, key: str) -> bytes:
        with self._errors(container, key):
            return self._blob(container, key).download_as_bytes(**self._call())

    def _put(self, container: str, key: str, data: bytes) -> None:
        with self._errors(container, key):
            # One request below the SDK's chunk size, a resumable upload above: either way
            # the object appears whole when the upload finishes.
            self._blob(container, key).upload_from_string(
                data, content_type="application/octet-stream", **self._call()
            )

    def _remove(self, container: str, key: str) -> None:
        try:
            with self._errors(container, key):
                self._blob(container, key).delete(**self._call())
        except FileNotFoundError:
            pass

    def _has(self, container: str, key: str) -> bool:
        with self._errors(container, key):
            return bool(self._blob(container, key).exists(**self._call()))

    def _copy(self, container: str, key: str, target_container: str, target_key: str) -> None:
        with self._errors(container, key):
            source = self._blob(container, key)
            target = self._blob(target_container, target_key)
            # Rewrite, not copy: it works for any size and across locations and storage
            # classes, continuing with the token the service returns until it is done.
            token, _, _ = target.rewrite(source, **self._call())
            while token is not None:
                token, _, _ = target.rewrite(source, token=token, **self._call())

    def delta_options(self) -> dict[str, str]:
        if self.emulator:
            # object_store's way to reach an emulator: service-account JSON that holds only
            # the base URL and `disable_oauth` (no key: nothing to sign, nothing secret).
            # Passed inline, so no credentials file is written anywhere.
            account = {
                "gcs_base_url": self.emulator,
                "disable_oauth": True,
                "client_email": "",
                "private_key": "",
                "private_key_id": "",
            }
            return {"google_service_account_key": json.dumps(account)}
        # Otherwise object_store finds ADC itself: this key file, else gcloud's
        # application-default credentials, else the metadata server of the function.
        path = self._environ.get(CREDENTIALS)
        return {"google_application_credentials": path} if path else {}

    def _bucket_exists(self, container: str) -> bool:
        try:
            return bool(self.client.bucket(container).exists(**self._call()))
        except (api.GoogleAPICallError, api.RetryError, requests.RequestException, OSError):
            return True  # unknown: let the caller report the object as missing

    def _identity(self) -> str:
        """Who was denied, as far as the credentials tell (never a secret)."""
        credentials = getattr(self.__dict__.get("client"), "_credentials", None)
        email = getattr(credentials, "service_account_email", None)
        if email and email != "default":
            return f"service account {email}"
        if self._environ.get(CREDENTIALS):
            return f"the key file in {CREDENTIALS}"
        return "the application default credentials"

    @contextmanager
    def _errors(self, container: str, key: str | None) -> Iterator[None]:
        """SDK errors as errors that name the setting to fix (never a credential).
        `key` is None for a call on the bucket itself."""
        where = f"gs://{container}/{key or ''}"
        try:
            yield
        except api.NotFound:
            if key is not None and self._bucket_exists(container):
                raise FileNotFoundError(f"no such object: {where}") from None
            raise ConfigError(
                f"GCS bucket {container!r} does not exist",
                hint=f"create it, or fix the bucket in {SETTING}",
            ) from None
        except (api.Forbidden, api.Unauthorized) as exc:
            raise ConfigError(
                f"access to {where} was denied to {self._identity()} "
                f"({exc.code}: {_first_line(exc.message)})",
                hint=IDENTITY_HINT,
            ) from None
        except auth.DefaultCredentialsError:
            raise ConfigError(
                "no Google credentials found",
                hint="run with a service account attached, run `gcloud auth "
                f"application-default login`, or set {CREDENTIALS} to a key file",
            ) from None
        except auth.RefreshError as exc:
            raise ConfigError(
                f"the Google credentials could not get a token: {_first_line(str(exc))}",
                hint=f"check {CREDENTIALS} or the service account of the function",
            ) from None
        except api.RetryError as exc:
            # The retry policy gave up; say why it kept failing.
            if _unreachable(exc.cause):
                raise self._unreachable() from None
            raise TransientError(f"GCS request on {where} kept failing: {exc.cause}") from None
        except (requests.ConnectionError, ConnectionError):
            raise self._unreachable() from None
        except api.GoogleAPICallError as exc:
            if exc.code is not None and 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise ConfigError(
                    f"GCS rejected the request on {where}: {_first_line(exc.message)}",
                    hint=f"check the bucket and prefix in {SETTING}",
                ) from None
            raise TransientError(f"GCS request on {where} failed: {exc.message}") from None
        except requests.RequestException as exc:
            raise TransientError(f"GCS request on {where} failed: {exc}") from None

    def _unreachable(self) -> ConfigError:
        if self.emulator:
            return ConfigError(
                f"cannot reach the GCS emulator at {self.emulator}",
                hint=f"start it, or fix {EMULATOR} (unset it to use Google Cloud Storage)",
            )
        return ConfigError(
            "cannot reach Google Cloud Storage",
            hint=f"check the network and proxy settings, or set {EMULATOR} for an emulator",
        )


def _unreachable(cause: BaseException | None) -> bool:
    if isinstance(cause, auth.TransportError) and cause.args:
        cause = cause.args[0] if isinstance(cause.args[0], BaseException) else cause
    return isinstance(cause, (requests.ConnectionError, ConnectionError))


def _first_line(text: str | None) -> str:
    text = (text or "").strip()
    return text.splitlines()[0] if text else "no detail"
