"""Azure Key Vault backend (azure-keyvault-secrets), reading each secret's latest version.

The identity is azure-identity's DefaultAzureCredential: the function app's managed identity
in Azure (AZURE_CLIENT_ID picks a user-assigned one), environment credentials
(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET) or `az login` elsewhere. It needs
the "Key Vault Secrets User" role on the vault (or a `get` secret access policy).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.keyvault.secrets import SecretClient

from providers.secrets.base import DEFAULT_TTL, CachedSecrets
from shared.errors import (
    ConfigError,
    LakehouseError,
    SecretNotFoundError,
    TerminalError,
    TransientError,
)

URL_SETTING = "LAKEHOUSE_KEYVAULT_URL"
IDENTITY_HINT = (
    "give the identity DefaultAzureCredential uses (the function app's managed identity; "
    "AZURE_CLIENT_ID for a user-assigned one; `az login` locally) the 'Key Vault Secrets User' "
    "role on the vault"
)
SDK_OPTIONS: Mapping[str, Any] = {
    # azure-core's RetryPolicy retries connection errors, 408, 429 and 5xx with exponential
    # backoff and honours Retry-After; a bounded count keeps a function inside its timeout.
    "retry_total": 4,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 8,
    "connection_timeout": 5,
    "read_timeout": 10,
}
"""Keyword options for SecretClient; `sdk_options` overrides or adds to them (e.g. a
`transport` in tests)."""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


def _denied_detail(message: str) -> str:
    """The service's first line, plus its `Caller: appid=...;oid=...` line, which says which
    identity to grant the role to."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    caller = [line for line in lines if line.startswith("Caller:")]
    return "; ".join(lines[:1] + caller[:1])


class KeyVaultSecrets(CachedSecrets):
    """Secrets from an Azure Key Vault; `client` replaces the SecretClient, `credential` the
    DefaultAzureCredential, `sdk_options` adds SecretClient keywords."""

    def __init__(
        self,
        vault_url: str | None,
        *,
        prefix: str = "",
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        client: SecretClient | None = None,
        credential: Any | None = None,
        sdk_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(prefix=prefix, ttl=ttl, clock=clock)
        if not vault_url:
            raise ConfigError(
                "the Key Vault secrets backend needs a vault URL",
                hint=f"set {URL_SETTING}, e.g. https://<vault-name>.vault.azure.net/",
            )
        parts = urlsplit(vault_url)
        # The SDK only sends a token over TLS; say so now rather than as a network error.
        if parts.scheme != "https" or not parts.hostname:
            raise ConfigError(
                f"{URL_SETTING} is not an https URL: {vault_url!r}",
                hint=f"set {URL_SETTING} to https://<vault-name>.vault.azure.net/",
            )
        self.vault_url = vault_url
        self._client = client
        self._credential = credential
        self._sdk_options = {**SDK_OPTIONS, **(sdk_options or {})}

    @property
    def client(self) -> SecretClient:
        """The SecretClient, built on first use."""
        if self._client is None:
            credential = self._credential
            if credential is None:
                # Imported here: azure.identity pulls in msal, which an injected credential
                # (tests) never needs.
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            self._client = SecretClient(self.vault_url, credential, **self._sdk_options)
        return self._client

    @property
    def description(self) -> str:
        return f"Azure Key Vault {self.vault_url}"

    def _get(self, name: str) -> str:
        return self.client.get_secret(name).value or ""

    def _error(self, name: str, error: Exception) -> LakehouseError | None:
        if isinstance(error, ResourceNotFoundError):
            return SecretNotFoundError(
                f"secret {name!r} not found in {self.description}",
                hint=f"create secret {name!r} in the vault, or fix {URL_SETTING} or "
                "LAKEHOUSE_SECRETS_PREFIX",
            )
        if isinstance(error, ClientAuthenticationError):
            # Raised by the credential (no identity found) or for a 401 from the vault.
            return ConfigError(
                f"cannot authenticate to {self.description}: {_first_line(error.message)}",
                hint=IDENTITY_HINT,
            )
        if isinstance(error, ServiceRequestError | ServiceResponseError):
            return TransientError(
                f"{self.description} is unreachable while reading secret {name!r}: "
                f"{_first_line(str(error))}",
                hint=f"check {URL_SETTING} (the vault's DNS name) and the network path to "
                "the vault (private endpoint, firewall)",
            )
        if isinstance(error, HttpResponseError):
            return self._http_error(name, error)
        return None

    def _http_error(self, name: str, error: HttpResponseError) -> LakehouseError:
        status = error.status_code or 0
        if status == 403:
            if "SecretDisabled" in str(error):
                return TerminalError(
                    f"secret {name!r} in {self.description} is disabled",
                    hint=f"enable secret {name!r} or its latest version in the vault",
                )
            return ConfigError(
                f"access to secret {name!r} in {self.description} denied: "
                f"{_denied_detail(error.message)}",
                hint=IDENTITY_HINT + ", and allow its network in the vault's firewall",
            )
        if status in (408, 429) or status >= 500:
            return TransientError(
                f"{self.description} failed reading secret {name!r} after retries (HTTP {status})",
                hint="retry later",
            )
        return TerminalError(
            f"reading secret {name!r} from {self.description} failed (HTTP {status}): "
            f"{_first_line(error.message)}",
            hint=f"check {URL_SETTING}",
        )
