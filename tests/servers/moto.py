"""moto's server: a local S3 and Secrets Manager (PyPI `moto[server]`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers.ports import free_port
from tests.servers.process import serve

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "moto-test-key",
    "AWS_SECRET_ACCESS_KEY": "moto-test-secret",
    "AWS_REGION": "eu-west-1",
}
"""What a client of the server needs besides AWS_ENDPOINT_URL (moto checks none of it)."""


@contextmanager
def moto_server(workdir: Path) -> Iterator[str]:
    """Run moto's server; yields its endpoint URL."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with serve("moto", command, port, workdir / "moto.log"):
        yield f"http://127.0.0.1:{port}"
