"""Helper servers that tests start as subprocesses (an X display, an RTSP camera)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def background_server(argv: list[str], what: str) -> Iterator[str]:
    """Run a server that prints a number (port or display) on its first stdout line; yield
    that number while it runs, then stop it."""
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        number = server.stdout.readline().strip()
        assert number.isdigit(), f"{what} did not start"
        yield number
    finally:
        server.terminate()
        server.wait(timeout=10)
