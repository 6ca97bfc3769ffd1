"""Azurite, Microsoft's Azure Storage emulator (npm package `azurite`), blob service only."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers.ports import free_port
from tests.servers.process import serve

ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same in every installation; not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary() -> str:
    """azurite-blob from the project's node folder (`make test` installs it) or PATH."""
    local = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "azurite-blob"
    found = str(local) if local.exists() else shutil.which("azurite-blob")
    if not found:
        raise RuntimeError(
            "azurite is not installed: run `make test` (it runs "
            "`npm install --prefix .venv/node azurite`)"
        )
    return found


def connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


@contextmanager
def azurite(workdir: Path) -> Iterator[str]:
    """Run Azurite's blob service; yields its connection string."""
    port = free_port()
    data = workdir / "azurite"
    data.mkdir(parents=True, exist_ok=True)
    command = [
        azurite_binary(),
        "--blobHost", "127.0.0.1",
        "--blobPort", str(port),
        "--location", str(data),
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--loose",
        "--silent",
    ]  # fmt: skip
    with serve("azurite", command, port, workdir / "azurite.log"):
        yield connection_string(port)
