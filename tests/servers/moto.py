"""moto's server (`moto[server]`): real AWS APIs (S3, Secrets Manager, ...) on 127.0.0.1.

`moto_server()` starts `python -m moto.server` on a free port, waits until it answers,
yields its endpoint URL and stops it. Point a boto3 client or AWS_ENDPOINT_URL at the URL;
moto accepts any credentials and region. State lives as long as the server, so tests use
unique names (or `reset(url)`).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers.ports import HOST, answers_http, free_port, wait_until

START_TIMEOUT = 30.0
PORT_ATTEMPTS = 3
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "moto-test-key",
    "AWS_SECRET_ACCESS_KEY": "moto-test-secret",
    "AWS_REGION": "eu-west-1",
}
"""What a client of the server needs besides AWS_ENDPOINT_URL (moto checks none of it)."""


class ServerStartError(RuntimeError):
    """The server did not answer; the message holds the end of its output."""


@contextmanager
def moto_server(host: str = HOST) -> Iterator[str]:
    """A running moto server; yields its endpoint URL, e.g. `http://127.0.0.1:54321`."""
    with tempfile.TemporaryDirectory(prefix="moto-server-") as folder:
        log_path = Path(folder) / "server.log"
        process, url = _start(host, log_path)
        try:
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(process: subprocess.Popen[bytes], url: str) -> bool:
    """Wait until the server answers or exits (an exit ends the wait at once)."""
    return wait_until(
        lambda: process.poll() is not None or answers_http(f"{url}/moto-api/"),
        timeout=START_TIMEOUT,
    )


def reset(url: str) -> None:
    """Forget every resource the server holds (moto's reset API)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def _start(host: str, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    output = ""
    for _ in range(PORT_ATTEMPTS):
        port = free_port(host)
        url = f"http://{host}:{port}"
        with log_path.open("wb") as log:
            # Output goes to a file, not a pipe nobody reads, so the server never blocks on it.
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if _answers(process, url) and process.poll() is None:
            return process, url
        process.kill()
        process.wait()
        # Most likely another process took the port between our probe and the bind.
        output = log_path.read_text(errors="replace")[-2000:]
    raise ServerStartError(f"moto server did not start on {host}: {output}")
