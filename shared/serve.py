"""`lakehouse serve`: the HTTP API on localhost, with no cloud tools, through the same
router the function apps use (`shared.api`)."""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from shared import api
from shared.settings import Settings

log = logging.getLogger("lakehouse.serve")
MAX_BODY = 1 << 20


def server(settings: Settings, host: str, port: int) -> ThreadingHTTPServer:
    """A server (not yet serving) that answers /api/... from `settings`' lake."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "lakehouse"

        def _answer(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                response = api.error(413, f"the body is over {MAX_BODY} bytes")
            else:
                body = self.rfile.read(length) if length else b""
                request = api.Request(self.command, url.path, dict(parse_qsl(url.query)), body)
                response = api.handle(settings, request)
            payload = response.body().encode("utf-8")
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), format % args)

    return ThreadingHTTPServer((host, port), Handler)
