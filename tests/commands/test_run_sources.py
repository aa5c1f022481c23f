"""Inputs other than local files: URIs served over HTTP on 127.0.0.1, file:// URIs, naming."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import media
import pytest
from servers import background_server

from gstreamed.inputs import Source


@pytest.fixture()
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served by an HTTP server on 127.0.0.1 (base URL returned with it)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_uri_is_processed_frame_for_frame(cli, model, clips, http_root, tmp_path):
    root, base = http_root
    (root / "clip.mp4").write_bytes(clips["mp4"].read_bytes())
    out, results = tmp_path / "stream.mkv", tmp_path / "stream.jsonl"
    proc = cli(f"{base}/clip.mp4", "--model", model, "-o", out, "--json", results)
    assert proc.returncode == 0, proc.stderr
    assert media.probe(out).frames == media.probe(clips["mp4"]).frames
    lines = results.read_text().splitlines()
    assert [json.loads(line)["frame"] for line in lines] == list(range(len(lines)))


def test_http_uri_default_output_in_working_directory(cli, model, clips, http_root, tmp_path):
    root, base = http_root
    (root / "clip.mp4").write_bytes(clips["mp4"].read_bytes())
    work = tmp_path / "work"
    work.mkdir()
    proc = cli(f"{base}/clip.mp4", "--model", model, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert media.probe(work / "clip.mp4.out.mkv").frames > 0


def test_missing_http_resource_is_one_error_line(cli, model, http_root, user_error, tmp_path):
    _, base = http_root
    user_error(cli(f"{base}/nothing.mp4", "--model", model, "-o", tmp_path / "x.mkv"))
    assert not (tmp_path / "x.mkv").exists()


def test_file_uri_uses_the_file_naming(cli, model, clips, tmp_path):
    clip = tmp_path / "c.webm"
    clip.write_bytes(clips["webm"].read_bytes())
    proc = cli(clip.resolve().as_uri(), "--model", model)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "c.webm.out.mkv").exists()


@pytest.mark.parametrize(
    ("kind", "location", "expected"),
    [
        ("uri", "rtsp://cam:554/live/ch1?token=x", "ch1.out.mkv"),
        ("uri", "http://host/", "host.out.mkv"),
        ("uri", "http://h/a b;$(x).mp4", "a_b_x_.mp4.out.mkv"),
        ("camera", "/dev/video0", "video0.out.mkv"),
    ],
)
def test_stream_and_camera_output_names(kind, location, expected):
    assert Source(kind, location).default_output == Path(expected)


def test_unsupported_uri_scheme(cli, model, user_error):
    user_error(cli("nosuchscheme://x/y", "--model", model), "nosuchscheme")


@pytest.fixture()
def rtsp_camera() -> Iterator[str]:
    """A live RTSP stream served on 127.0.0.1 by GStreamer's RTSP server."""
    import sys

    import gi

    try:
        gi.require_version("GstRtspServer", "1.0")
    except ValueError:
        pytest.skip("GStreamer's RTSP server bindings are not installed (./setup.sh test)")
    script = Path(__file__).parents[1] / "rtsp_server.py"
    with background_server([sys.executable, str(script)], "the RTSP server") as port:
        yield f"rtsp://127.0.0.1:{port}/cam"


def test_live_rtsp_runs_until_ctrl_c_and_leaves_a_playable_file(
    model, rtsp_camera, cli_env, tmp_path
):
    import signal
    import subprocess
    import sys
    import time

    output, results = tmp_path / "cam.mkv", tmp_path / "cam.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gstreamed",
            rtsp_camera,
            "--model",
            str(model),
            "-o",
            str(output),
            "--json",
            str(results),
        ],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(  # written under a temporary name
        p.read_bytes().count(b"\n") >= 15 for p in tmp_path.glob(".cam.jsonl.*.partial")
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    frames = len(results.read_text().splitlines())
    assert frames >= 15
    got = media.probe(output)  # finalised by EOS: decodes, and holds every processed frame
    assert (got.width, got.height, got.frames) == (320, 240, frames)
