"""Start a server process on a free loopback port, wait until it answers, stop it after."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

STARTUP_SECONDS = 60.0


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def serve(
    name: str,
    command: Sequence[str],
    port: int,
    log: Path,
    *,
    ready: Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[None]:
    """Run `command` until the block ends; fail with the server's log if it never answers."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (_answers(port) and (ready is None or ready())):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} did not start on 127.0.0.1:{port}:\n{tail}")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
