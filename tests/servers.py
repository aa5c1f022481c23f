"""Helper servers and processes: subprocesses (an X display, an RTSP camera), an HTTP
server that dies, a CLI run interrupted mid-stream."""

from __future__ import annotations

import http.server
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


@contextmanager
def http_server_that_stops(path: Path, fraction: float) -> Iterator[str]:
    """Serve ``path`` once over HTTP, stop after ``fraction`` of it and refuse from then on."""
    data = path.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/x-matroska")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: int(len(data) * fraction)])
            self.wfile.flush()
            threading.Thread(target=server.shutdown).start()
            self.close_connection = True

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
    finally:
        server.shutdown()
        server.server_close()


def interrupt_after(proc: subprocess.Popen, prefix: str, timeout: float = 60) -> str:
    """Read ``proc``'s stderr until a line starts with ``prefix`` (the run is under way),
    press Ctrl-C (SIGINT) and wait for the end; asserts exit status 130 and returns what it
    wrote to stderr after the signal."""
    assert proc.stderr is not None
    try:
        lines = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if line.startswith(prefix) or not line:
                break
        assert lines[-1].startswith(prefix), "".join(lines)
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=timeout) == 130, "".join(lines) + rest
    finally:
        if proc.poll() is None:
            proc.kill()
    return rest
