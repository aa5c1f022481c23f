"""Live sources that go away: the real RTSP server of `rtsp_server.py` stopped and restarted
on the same port; the run reconnects into the same outputs, or gives up cleanly."""

from __future__ import annotations

import itertools
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import media
import pytest

pytestmark = pytest.mark.timeout(120)

SERVER = Path(__file__).parents[1] / "rtsp_server.py"


@pytest.fixture(autouse=True)
def _rtsp_server_bindings() -> None:
    import gi

    try:
        gi.require_version("GstRtspServer", "1.0")
    except ValueError:
        pytest.skip("GStreamer's RTSP server bindings are not installed (./setup.sh test)")


@contextmanager
def rtsp_server(port: int) -> Iterator[None]:
    """The test camera on ``port`` while the block runs."""
    server = subprocess.Popen(
        [sys.executable, str(SERVER), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == str(port)
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def json_lines(folder: Path) -> int:
    """Lines of the JSON Lines output being written in ``folder``."""
    return sum(p.read_bytes().count(b"\n") for p in folder.glob(".*.jsonl.*.partial"))


def gstreamed(url: str, folder: Path, env: dict[str, str], *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gstreamed",
            url,
            "--model",
            str(folder / "model.onnx"),
            "-o",
            str(folder / "cam.mkv"),
            "--json",
            str(folder / "cam.jsonl"),
            "--mot",
            str(folder / "cam.txt"),
            *options,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture()
def folder(tmp_path: Path, model: Path) -> Path:
    (tmp_path / "model.onnx").write_bytes(model.read_bytes())
    return tmp_path


def test_lost_camera_reconnects_into_the_same_outputs(folder: Path, cli_env) -> None:
    port = free_port()
    url = f"rtsp://127.0.0.1:{port}/cam"
    with rtsp_server(port):
        proc = gstreamed(url, folder, cli_env)
        wait_for(lambda: json_lines(folder) >= 15, 30, "frames before the gap")
    time.sleep(3)  # the camera is away
    before = json_lines(folder)
    with rtsp_server(port):
        wait_for(lambda: json_lines(folder) >= before + 15, 40, "frames after the gap")
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "source lost" in stderr and "reconnected after" in stderr
    records = [json.loads(line) for line in (folder / "cam.jsonl").read_text().splitlines()]
    pts = [r["pts"] for r in records]
    assert pts == sorted(pts)  # stream time runs on across the gap ...
    gap = max(b - a for a, b in itertools.pairwise(pts))
    assert gap > 3  # ... and shows it
    after = pts.index(next(b for a, b in itertools.pairwise(pts) if b - a == gap))
    ids = [{d["track_id"] for d in r["detections"]} for r in records]
    assert not ids[after - 1] & ids[-1]  # a new track after the gap, never a reused id
    output = folder / "cam.mkv"
    got = media.probe(output)
    assert (got.width, got.height) == (320, 240)
    assert got.frames >= len(records) - 5 and got.frames > after  # frames after the gap
    assert abs(media.discover(output).get_duration() / 1e9 - pts[-1]) < 0.5


def test_gives_up_after_the_reconnect_timeout(folder: Path, cli_env, user_error) -> None:
    port = free_port()
    with rtsp_server(port):
        proc = gstreamed(
            f"rtsp://127.0.0.1:{port}/cam", folder, cli_env, "--reconnect-timeout", "3"
        )
        wait_for(lambda: json_lines(folder) >= 15, 30, "frames")
    _, stderr = proc.communicate(timeout=60)
    proc.stderr = stderr  # for user_error
    line = user_error(proc, "not back within 3 s", "at frame")
    assert proc.returncode == 1, line
    frames = len((folder / "cam.jsonl").read_text().splitlines())
    assert media.probe(folder / "cam.mkv").frames == frames  # finalised, every frame


def test_no_reconnect_ends_with_a_finalised_file(folder: Path, cli_env, user_error) -> None:
    port = free_port()
    with rtsp_server(port):
        proc = gstreamed(f"rtsp://127.0.0.1:{port}/cam", folder, cli_env, "--no-reconnect")
        wait_for(lambda: json_lines(folder) >= 15, 30, "frames")
    _, stderr = proc.communicate(timeout=60)
    proc.stderr = stderr
    user_error(proc, f"127.0.0.1:{port}/cam", "at frame")
    frames = len((folder / "cam.jsonl").read_text().splitlines())
    assert media.probe(folder / "cam.mkv").frames == frames
