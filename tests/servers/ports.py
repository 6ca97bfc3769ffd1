"""Free TCP ports on 127.0.0.1, without a lock file.

The kernel picks an unused port for a socket bound to port 0; the socket is closed before the
server binds it, so another process could take it in between; `process.serve` then reports
the server's log, and a rerun picks another port.
"""

from __future__ import annotations

import socket

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port that nothing listens on at this moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
