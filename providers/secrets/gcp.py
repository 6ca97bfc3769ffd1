"""GCP Secret Manager backend (google-cloud-secret-manager), reading
`projects/{project}/secrets/{name}/versions/latest`.

The identity is Application Default Credentials: the function's service account on GCP,
GOOGLE_APPLICATION_CREDENTIALS or `gcloud auth application-default login` elsewhere. It
needs roles/secretmanager.secretAccessor on the secret (or the project).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from google.api_core import exceptions as api_errors
from google.api_core import retry as api_retry
from google.auth import exceptions as auth_errors
from google.cloud.secretmanager import SecretManagerServiceClient

from providers.secrets.base import DEFAULT_TTL, CachedSecrets
from providers.secrets.redact import redact_google_secret_payloads
from shared.errors import (
    ConfigError,
    LakehouseError,
    SecretNotFoundError,
    TerminalError,
    TransientError,
)

PROJECT_SETTING = "LAKEHOUSE_GCP_PROJECT"
IDENTITY_HINT = (
    "grant the identity Application Default Credentials resolve to (the function's service "
    "account; GOOGLE_APPLICATION_CREDENTIALS or `gcloud auth application-default login` "
    "locally) roles/secretmanager.secretAccessor on the secret"
)
TIMEOUT = 30.0


def default_retry() -> api_retry.Retry:
    """The client's own retry policy: 429, 5xx and connection errors, with exponential
    backoff, for at most TIMEOUT seconds in all."""
    return api_retry.Retry(
        predicate=api_retry.if_transient_error,
        initial=0.25,
        maximum=8.0,
        multiplier=2.0,
        timeout=TIMEOUT,
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


class GcpSecrets(CachedSecrets):
    """Secrets from GCP Secret Manager in one project; `client` replaces the client,
    `credentials` and `client_options` are passed to the client it builds, `retry`
    replaces `default_retry()`."""

    def __init__(
        self,
        project: str | None,
        *,
        prefix: str = "",
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        client: SecretManagerServiceClient | None = None,
        credentials: Any | None = None,
        client_options: Mapping[str, Any] | None = None,
        retry: api_retry.Retry | None = None,
    ) -> None:
        super().__init__(prefix=prefix, ttl=ttl, clock=clock)
        if not project:
            raise ConfigError(
                "the GCP secrets backend needs a project",
                hint=f"set {PROJECT_SETTING} (or GOOGLE_CLOUD_PROJECT) to the project id",
            )
        self.project = project
        self._client = client
        self._credentials = credentials
        self._client_options = dict(client_options or {})
        self._retry = retry or default_retry()
        redact_google_secret_payloads()

    @property
    def client(self) -> SecretManagerServiceClient:
        """The Secret Manager client, built on first use."""
        if self._client is None:
            # REST rather than gRPC: one plain HTTPS request per lookup suits a short-lived
            # function, and it is the transport the tests run against a local server.
            self._client = SecretManagerServiceClient(
                credentials=self._credentials,
                transport="rest",
                client_options=self._client_options or None,
            )
        return self._client

    @property
    def description(self) -> str:
        endpoint = self._client_options.get("api_endpoint")
        return f"GCP Secret Manager (project {self.project}" + (
            f", endpoint {endpoint})" if endpoint else ")"
        )

    def _get(self, name: str) -> str:
        path = self.client.secret_version_path(self.project, name, "latest")
        response = self.client.access_secret_version(
            request={"name": path}, retry=self._retry, timeout=TIMEOUT
        )
        try:
            return response.payload.data.decode("utf-8")
        except UnicodeDecodeError:
            raise TerminalError(
                f"secret {name!r} in {self.description} is binary, not UTF-8 text",
                hint="store the value as UTF-8 text",
            ) from None

    def _error(self, name: str, error: Exception) -> LakehouseError | None:
        # The REST transport raises by HTTP status (Forbidden, not its PermissionDenied
        # subclass), so the checks use the HTTP classes.
        if isinstance(error, api_errors.NotFound):
            return SecretNotFoundError(
                f"secret {name!r} (or an enabled version of it) not found in {self.description}",
                hint=f"create secret {name!r} with a version, or fix {PROJECT_SETTING} or "
                "LAKEHOUSE_SECRETS_PREFIX",
            )
        if isinstance(error, api_errors.Forbidden):
            # Secret Manager also answers 403 for a secret that does not exist when the
            # caller may not list secrets, so the hint names both causes.
            return ConfigError(
                f"access to secret {name!r} in {self.description} denied: {_message(error)}",
                hint=f"{IDENTITY_HINT}; check {PROJECT_SETTING} and the secret's name",
            )
        if isinstance(
            error,
            api_errors.RetryError
            | api_errors.ServerError
            | api_errors.TooManyRequests
            | requests.exceptions.RequestException
            | auth_errors.TransportError,  # no token: the metadata server was unreachable
        ):
            cause = getattr(error, "cause", None) or error
            return TransientError(
                f"{self.description} is unreachable or failing while reading secret "
                f"{name!r}: {_first_line(str(cause))}",
                hint="retry later; check the network path to Secret Manager (VPC egress, "
                "Private Google Access)",
            )
        if isinstance(error, api_errors.Unauthorized | auth_errors.GoogleAuthError):
            # No Application Default Credentials, or they were refused.
            return ConfigError(
                f"cannot authenticate to {self.description}: {_first_line(str(error))}",
                hint=IDENTITY_HINT,
            )
        if isinstance(error, api_errors.GoogleAPICallError):
            # e.g. 400 FAILED_PRECONDITION: the latest version is disabled or destroyed.
            return TerminalError(
                f"reading secret {name!r} from {self.description} failed: {_message(error)}",
                hint=f"check the name {name!r} and that its latest version is enabled",
            )
        return None


def _message(error: api_errors.GoogleAPICallError) -> str:
    """The service's message without the "GET <url>: " the REST transport puts first."""
    return _first_line(re.sub(r"^[A-Z]+ \S+: ", "", error.message or ""))
