"""A stand-in for the GCP Secret Manager REST API on 127.0.0.1.

Secret Manager has no local emulator. `secret_manager_stub()` serves the one route the
provider calls, `GET /v1/projects/{project}/secrets/{secret}/versions/{version}:access`, over
plain HTTP with the bodies the service documents (AccessSecretVersionResponse, and the
google.rpc error JSON for 404 NOT_FOUND and 403 PERMISSION_DENIED). The real client reaches
it through its REST transport with `client_options={"api_endpoint": stub.url}` and anonymous
credentials, so only the host differs from production.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers.ports import HOST

PROJECT = "lakehouse-test"
PROJECT_NUMBER = "123456789012"
ROUTE = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/]+)/versions/([^/:]+):access$")


@dataclass
class SecretManagerStub:
    """Secrets by name in PROJECT; `denied` names answer 403; `fail_first` answers that many
    requests with 503 to exercise the client's retry policy."""

    secrets: dict[str, str] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    fail_first: int = 0
    paths: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def reads(self) -> int:
        return len(self.paths)

    def answer(self, path: str) -> tuple[int, dict]:
        self.paths.append(path)
        if self.fail_first > 0:
            self.fail_first -= 1
            return 503, _error(503, "The service is currently unavailable.", "UNAVAILABLE")
        match = ROUTE.match(path.split("?", 1)[0])
        if not match:
            return 404, _error(404, f"Method not found: {path}", "NOT_FOUND")
        project, secret, version = match.groups()
        resource = f"projects/{project}/secrets/{secret}/versions/{version}"
        if secret in self.denied or project != PROJECT:
            return 403, _error(
                403,
                f"Permission 'secretmanager.versions.access' denied for resource "
                f"'{resource}' (or it may not exist).",
                "PERMISSION_DENIED",
                reason="IAM_PERMISSION_DENIED",
            )
        if secret not in self.secrets:
            return 404, _error(
                404,
                f"Secret [projects/{PROJECT_NUMBER}/secrets/{secret}] not found or has no "
                "versions.",
                "NOT_FOUND",
            )
        data = self.secrets[secret].encode("utf-8")
        return 200, {
            "name": f"projects/{PROJECT_NUMBER}/secrets/{secret}/versions/1",
            "payload": {"data": base64.b64encode(data).decode("ascii")},
        }


def _error(code: int, message: str, status: str, reason: str | None = None) -> dict:
    error: dict = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "iam.googleapis.com",
                "metadata": {"permission": "secretmanager.versions.access"},
            }
        ]
    return {"error": error}


@contextmanager
def secret_manager_stub(**state: object) -> Iterator[SecretManagerStub]:
    """A running stub (keyword arguments set its state); `stub.url` is its endpoint."""
    stub = SecretManagerStub(**state)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = stub.answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    server = ThreadingHTTPServer((HOST, 0), Handler)
    stub.url = f"http://{HOST}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
