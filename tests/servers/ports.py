"""Free TCP ports on 127.0.0.1, without a lock file.

The kernel picks an unused port for a socket bound to port 0; the socket is closed before the
server binds it, so another process could take it in between. Callers handle that the
lock-free way: if the server fails to start on the port, they ask for another one.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port that nothing listens on at this moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def answers_http(url: str, timeout: float = 1.0) -> bool:
    """Whether an HTTP server answers at `url` (any status counts as an answer)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def wait_until(ready, *, timeout: float, interval: float = 0.1) -> bool:
    """Poll `ready()` until it is true or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(interval)
    return ready()
