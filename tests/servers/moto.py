"""moto's server: a local S3 and Secrets Manager (PyPI `moto[server]`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers.process import free_port, serve


@contextmanager
def moto_server(workdir: Path) -> Iterator[str]:
    """Run moto's server; yields its endpoint URL."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with serve("moto", command, port, workdir / "moto.log"):
        yield f"http://127.0.0.1:{port}"
