"""A stand-in for the Key Vault REST API behind azure-core's own HTTP transport.

Key Vault has no local server. `KeyVaultStub` is a `requests` adapter mounted in the session
of azure-core's `RequestsTransport`, so the real SecretClient runs its whole pipeline (the
challenge-based authentication, retries, logging, error mapping) and only the socket is
replaced. Responses have the shape the service documents for
GET {vault}/secrets/{name}/?api-version=..., including its 401 challenge, 404 SecretNotFound
and 403 Forbidden bodies.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import BaseAdapter, HTTPAdapter

VAULT_URL = "https://lakehouse-test.vault.azure.net/"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TOKEN = "stub-access-token"
CHALLENGE = (
    f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
    'resource="https://vault.azure.net"'
)
FORBIDDEN_MESSAGE = (
    "Caller is not authorized to perform action on resource.\r\n"
    "If role assignments, deny assignments or role definitions were changed recently, "
    "please observe propagation time.\r\n"
    "Caller: appid=00000000-0000-0000-0000-000000000001;"
    "oid=00000000-0000-0000-0000-000000000002\r\n"
    "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n"
)

Handler = Callable[[requests.PreparedRequest], "tuple[int, dict | None] | None"]


class StaticCredential:
    """A TokenCredential that hands out a fixed token and counts the requests for one."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(TOKEN, 4_102_444_800)  # 2100-01-01: never refreshed in a test


@dataclass
class KeyVaultStub(BaseAdapter):
    """Secrets by name; names in `denied` answer 403; `fail_first` answers that many
    requests with 503 (Retry-After: 0) to exercise the SDK's retry policy."""

    secrets: dict[str, str] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    fail_first: int = 0
    requests: list[requests.PreparedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def transport(self) -> RequestsTransport:
        """An azure-core transport whose session sends every request to this stub."""
        session = requests.Session()
        session.mount("https://", self)
        return RequestsTransport(session=session, session_owner=False)

    @property
    def secret_reads(self) -> int:
        """Authorised GETs of a secret (the challenge round trip is not counted)."""
        return sum(1 for r in self.requests if "Authorization" in r.headers)

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        self.requests.append(request)
        if "Authorization" not in request.headers:
            # The client's first call carries no token; the 401 challenge names the tenant.
            return self._respond(request, 401, None, {"WWW-Authenticate": CHALLENGE})
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if self.fail_first > 0:
            self.fail_first -= 1
            return self._respond(
                request, 503, _error("ServiceUnavailable", "try again"), {"Retry-After": "0"}
            )
        path = urlsplit(request.url).path.strip("/").split("/")
        if request.method != "GET" or len(path) < 2 or path[0] != "secrets":
            return self._respond(request, 400, _error("BadParameter", "unsupported request"))
        name = path[1]
        if name in self.denied:
            return self._respond(
                request, 403, _error("Forbidden", FORBIDDEN_MESSAGE, inner="ForbiddenByRbac")
            )
        if name not in self.secrets:
            return self._respond(
                request,
                404,
                _error(
                    "SecretNotFound",
                    f"A secret with (name/id) {name} was not found in this key vault. If you "
                    "recently deleted this secret you may be able to recover it using the "
                    "correct recovery command. For help resolving this issue, please see "
                    "https://go.microsoft.com/fwlink/?linkid=2125182",
                ),
            )
        return self._respond(request, 200, _bundle(name, self.secrets[name]))

    def close(self) -> None:
        pass

    @staticmethod
    def _respond(
        request: requests.PreparedRequest,
        status: int,
        body: dict | None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        data = json.dumps(body).encode() if body is not None else b""
        all_headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": str(len(data)),
            "x-ms-request-id": "00000000-0000-0000-0000-00000000abcd",
            "x-ms-keyvault-service-version": "1.9.2164.1",
            **(headers or {}),
        }
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(data),
            headers=all_headers,
            status=status,
            preload_content=False,
            decode_content=False,
        )
        # The same conversion requests' HTTPAdapter applies to a real socket's response.
        return HTTPAdapter().build_response(request, raw)


def _error(code: str, message: str, inner: str | None = None) -> dict:
    error: dict = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return {"error": error}


def _bundle(name: str, value: str) -> dict:
    return {
        "value": value,
        "id": f"{VAULT_URL}secrets/{name}/4387e9f3d6e14c459867679a90fd0f79",
        "attributes": {
            "enabled": True,
            "created": 1_700_000_000,
            "updated": 1_700_000_000,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        },
        "tags": {},
    }
