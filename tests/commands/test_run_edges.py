"""Inputs and outputs at the edges: pipes, standard output, suffixes that choose the format,
names starting with "-", URIs gstreamed cannot read, servers that refuse connections."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import media
import pytest

pytestmark = pytest.mark.timeout(60)


def test_stdin_input_and_json_to_stdout(
    clips: dict[str, Path], model: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with clips["mkv"].open("rb") as stdin:
        proc = subprocess.run(
            [sys.executable, "-m", "gstreamed", "/dev/stdin", "--model", str(model), "--json", "-"],
            stdin=stdin,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=cli_env,
            timeout=60,
        )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["frame"] for line in proc.stdout.splitlines()] == list(range(10))
    assert media.probe(tmp_path / "stdin.out.mkv").frames == 10  # named like a stream, here


def test_fifo_input(clips: dict[str, Path], model: Path, cli, tmp_path: Path) -> None:
    fifo = tmp_path / "camera.mkv"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as pipe:
            pipe.write(clips["mkv"].read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    proc = cli(fifo, "--model", model, "-o", tmp_path / "out.mkv")
    writer.join(timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert media.probe(tmp_path / "out.mkv").frames == 10


@pytest.mark.parametrize(
    ("suffix", "container"), [(".mp4", "video/quicktime"), (".mkv", "video/x-matroska")]
)
def test_video_suffix_chooses_the_container(
    suffix: str, container: str, clips: dict[str, Path], model: Path, cli, tmp_path: Path
) -> None:
    output = tmp_path / f"out{suffix}"
    assert cli(clips["mp4"], "--model", model, "-o", output).returncode == 0
    got = media.probe(output)
    assert (got.container, got.frames) == (container, 10)


def test_png_output_is_a_png(images: dict[str, Path], model: Path, cli, tmp_path: Path) -> None:
    output = tmp_path / "out.png"
    assert cli(images["jpg"], "--model", model, "-o", output).returncode == 0
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cv2.imread(str(output)).shape == (120, 160, 3)


@pytest.mark.parametrize(("source", "output"), [("mp4", "out.avi"), ("jpg", "out.mkv")])
def test_suffix_of_another_format_is_refused(
    source: str,
    output: str,
    clips: dict[str, Path],
    images: dict[str, Path],
    model: Path,
    cli,
    user_error,
    tmp_path: Path,
) -> None:
    given = clips["mp4"] if source == "mp4" else images["jpg"]
    user_error(cli(given, "--model", model, "-o", tmp_path / output), output, "use ")
    assert not list(tmp_path.iterdir())


def test_input_named_like_an_option(images: dict[str, Path], model: Path, cli, tmp_path) -> None:
    shutil.copyfile(images["jpg"], tmp_path / "-lead.jpg")
    proc = cli("--", "-lead.jpg", cwd=tmp_path, env={"GSTREAMED_MODEL": str(model)})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "-lead.out.jpg").is_file()


def test_appsrc_uri_is_refused(model: Path, cli, user_error) -> None:
    user_error(cli("appsrc://anything", "--model", model, timeout=20), "appsrc://")


@pytest.mark.parametrize("scheme", ["http", "rtsp"])
def test_connection_refused(scheme: str, model: Path, cli, user_error, tmp_path: Path) -> None:
    url = f"{scheme}://127.0.0.1:1/stream"
    proc = cli(url, "--model", model, "-o", tmp_path / "out.mkv", timeout=30)
    user_error(proc, url, "cannot connect to 127.0.0.1:1", "refused")
    assert not list(tmp_path.iterdir())
