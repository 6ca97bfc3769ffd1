"""AWS Secrets Manager backend (boto3), reading each secret's current version.

The identity is boto3's credential chain (the function's IAM role in AWS; AWS_PROFILE or
AWS_ACCESS_KEY_ID elsewhere). The standard SDK variables are read from the settings'
environment, as boto3 would read them: AWS_ENDPOINT_URL_SECRETS_MANAGER, then
AWS_ENDPOINT_URL (LocalStack, moto, a VPC endpoint), AWS_REGION, then AWS_DEFAULT_REGION,
and AWS_RETRY_MODE / AWS_MAX_ATTEMPTS for botocore's own retry policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from providers.secrets.base import DEFAULT_TTL, CachedSecrets
from providers.secrets.redact import redact_botocore_secret_bodies
from shared.errors import (
    ConfigError,
    LakehouseError,
    SecretNotFoundError,
    TerminalError,
    TransientError,
)

IDENTITY_HINT = (
    "run with an IAM role allowed secretsmanager:GetSecretValue on the secret (and kms:Decrypt "
    "on its key), or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
)
DENIED_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
    }
)
THROTTLED_CODES = frozenset({"ThrottlingException", "TooManyRequestsException"})


def _endpoint_url(environ: Mapping[str, str]) -> str | None:
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    return environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or environ.get("AWS_ENDPOINT_URL")


def _max_attempts(environ: Mapping[str, str]) -> int:
    text = environ.get("AWS_MAX_ATTEMPTS") or "4"
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(
            f"AWS_MAX_ATTEMPTS must be a whole number from 1: {text!r}",
            hint="set AWS_MAX_ATTEMPTS=4 (or unset it for the default)",
        )
    return int(text)


class AwsSecrets(CachedSecrets):
    """Secrets from AWS Secrets Manager; `client` replaces the boto3 client (tests)."""

    def __init__(
        self,
        environ: Mapping[str, str],
        *,
        prefix: str = "",
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        client: Any | None = None,
    ) -> None:
        super().__init__(prefix=prefix, ttl=ttl, clock=clock)
        self._environ = environ
        self.endpoint_url = _endpoint_url(environ)
        self._client = client
        redact_botocore_secret_bodies()

    @property
    def client(self) -> Any:
        """The boto3 Secrets Manager client, built on first use."""
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _build_client(self) -> Any:
        env = self._environ
        # The variables come from the settings' environment (the process's, in a deployment),
        # so a caller can point one store elsewhere without touching os.environ; whatever is
        # unset falls back to boto3's own chain (config files, the instance role).
        session = boto3.session.Session(
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
            region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            profile_name=env.get("AWS_PROFILE") or None,
        )
        # botocore's standard mode retries throttling, 5xx and connection errors with
        # jittered backoff; the variables still win, as they do for any boto3 client.
        config = Config(
            retries={
                "mode": env.get("AWS_RETRY_MODE") or "standard",
                "total_max_attempts": _max_attempts(env),
            },
            connect_timeout=5,
            read_timeout=10,
        )
        return session.client("secretsmanager", endpoint_url=self.endpoint_url, config=config)

    @property
    def region(self) -> str | None:
        if self._client is not None:
            return self._client.meta.region_name
        env = self._environ
        return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None

    @property
    def description(self) -> str:
        where = f"region {self.region or '(none set)'}"
        if self.endpoint_url:
            where += f", endpoint {self.endpoint_url}"
        return f"AWS Secrets Manager ({where})"

    def _get(self, name: str) -> str:
        response = self.client.get_secret_value(SecretId=name)
        if response.get("SecretString") is not None:
            return response["SecretString"]
        binary = response.get("SecretBinary") or b""
        try:
            return binary.decode("utf-8")
        except UnicodeDecodeError:
            raise TerminalError(
                f"secret {name!r} in {self.description} is binary, not UTF-8 text",
                hint="store the value as a SecretString",
            ) from None

    def _error(self, name: str, error: Exception) -> LakehouseError | None:
        if isinstance(error, ClientError):
            return self._client_error(name, error)
        if isinstance(error, NoCredentialsError | PartialCredentialsError):
            return ConfigError(f"no AWS credentials to read secret {name!r}", hint=IDENTITY_HINT)
        if isinstance(error, CredentialRetrievalError):
            return ConfigError(f"AWS credentials could not be loaded: {error}", hint=IDENTITY_HINT)
        if isinstance(error, ProfileNotFound):
            return ConfigError(f"AWS profile not found: {error}", hint="fix or unset AWS_PROFILE")
        if isinstance(error, NoRegionError):
            return ConfigError(
                f"no AWS region for {self.description}",
                hint="set AWS_REGION (or AWS_DEFAULT_REGION) to the region of the secrets",
            )
        if isinstance(error, ConnectionError | HTTPClientError):
            return TransientError(
                f"{self.description} is unreachable while reading secret {name!r}: {error}",
                hint=self._endpoint_hint(),
            )
        if isinstance(error, BotoCoreError):
            return TerminalError(f"reading secret {name!r} from {self.description}: {error}")
        return None

    def _client_error(self, name: str, error: ClientError) -> LakehouseError:
        details = error.response.get("Error", {})
        code = details.get("Code", "")
        message = details.get("Message", "") or str(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "ResourceNotFoundException":
            return SecretNotFoundError(
                f"secret {name!r} not found in {self.description}",
                hint=f"create secret {name!r} there, or fix LAKEHOUSE_SECRETS_PREFIX or AWS_REGION",
            )
        if code in DENIED_CODES:
            return ConfigError(
                f"access to secret {name!r} in {self.description} denied ({code}): {message}",
                hint=IDENTITY_HINT,
            )
        if code == "DecryptionFailure":
            return ConfigError(
                f"secret {name!r} in {self.description} cannot be decrypted: {message}",
                hint="allow the identity kms:Decrypt on the secret's KMS key",
            )
        if code in THROTTLED_CODES or status >= 500:
            return TransientError(
                f"{self.description} failed reading secret {name!r} after retries ({code})",
                hint="retry later; raise AWS_MAX_ATTEMPTS if this persists",
            )
        return TerminalError(
            f"reading secret {name!r} from {self.description} failed ({code}): {message}",
            hint=self._endpoint_hint() if self.endpoint_url else None,
        )

    def _endpoint_hint(self) -> str:
        if self.endpoint_url:
            return (
                f"check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL ({self.endpoint_url}); "
                "unset both for the AWS endpoint of AWS_REGION"
            )
        return "check AWS_REGION and the network path to Secrets Manager (VPC endpoint, NAT)"
