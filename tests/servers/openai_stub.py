"""An OpenAI-compatible chat-completions server on 127.0.0.1 that records what it is sent.

It serves `POST .../chat/completions` for both URL shapes the `openai` client uses:
`/v1/chat/completions` (OpenAI and compatible servers) and
`/openai/deployments/{deployment}/chat/completions?api-version=...` (Azure OpenAI), with the
documented response body (`chat.completion` with `choices` and `usage`) or error body
(`{"error": {...}}`). `reply` decides each answer, so a test can script successes, 5xx,
slow answers (for client timeouts), refusals and replies of its own.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.servers.ports import HOST


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.body.get("messages", [])

    def text(self) -> str:
        """Everything the model would read."""
        return "\n".join(m["content"] for m in self.messages)


@dataclass
class Reply:
    status: int = 200
    content: str | None = None
    """The assistant message (JSON text); with status 200."""
    prompt_tokens: int = 900
    completion_tokens: int = 150
    model: str = "gpt-4o-mini-2024-07-18"
    delay: float = 0.0
    """Seconds to wait before answering (longer than the client's timeout: a timeout)."""


def completion_body(reply: Reply, request: Received) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
        "system_fingerprint": "fp_stub",
    }


def error_body(status: int) -> dict[str, Any]:
    kinds = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
    return {
        "error": {
            "message": f"stub error {status}",
            "type": "server_error" if status >= 500 else "invalid_request_error",
            "param": None,
            "code": kinds.get(status),
        }
    }


@dataclass
class ChatStub:
    """`reply(request)` answers each request; `received` holds every request in order."""

    reply: Callable[[Received], Reply] = field(default=lambda _: Reply(content="{}"))
    received: list[Received] = field(default_factory=list)
    url: str = ""
    """http://127.0.0.1:<port> (append /v1 for an OpenAI base URL)."""

    def answer(self, request: Received) -> tuple[int, dict[str, Any], float]:
        self.received.append(request)
        reply = self.reply(request)
        if reply.status != 200:
            return reply.status, error_body(reply.status), reply.delay
        return 200, completion_body(reply, request), reply.delay


def _handler(stub: ChatStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            request = Received(
                "POST",
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                json.loads(raw or b"{}"),
            )
            if not self.path.split("?", 1)[0].endswith("/chat/completions"):
                status, body, delay = 404, error_body(404), 0.0
            else:
                status, body, delay = stub.answer(request)
            if delay:
                time.sleep(delay)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout under test)

        def log_message(self, *_: object) -> None:
            pass

    return Handler


@contextmanager
def chat_stub(reply: Callable[[Received], Reply] | None = None) -> Iterator[ChatStub]:
    """A running stub on a free port of 127.0.0.1, stopped on exit."""
    stub = ChatStub() if reply is None else ChatStub(reply=reply)
    server = ThreadingHTTPServer((HOST, 0), _handler(stub))
    server.daemon_threads = True
    stub.url = f"http://{HOST}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
