"""How runs end: stop signals, sources failing mid-stream, outputs that cannot be written,
outputs that are inputs, two runs on one output. Every ending leaves either no file or a
finalised one under the final name; real processes, real files read back."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import media
import pytest
from models import constant_yolo
from servers import http_server_that_stops

CliRunner = Callable[..., subprocess.CompletedProcess]

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def long_clip(media_dir: Path) -> Path:
    """1500 frames at 30 fps: long enough that a signal lands mid-stream."""
    return media.make_video(media_dir / "long.mp4", 320, 240, frames=1500, fps=30)


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 640x640 constant model: slow enough on CPU that runs take several seconds."""
    return constant_yolo(
        tmp_path_factory.mktemp("slow") / "640.onnx",
        [(320, 320, 200, 160, 1, 0.9)],
        imgsz=(640, 640),
        anchors=8400,
    )


def partials(folder: Path) -> list[Path]:
    """Temporary files of outputs being written (see `gstreamed.outfile`)."""
    return sorted(folder.glob(".*.partial"))


def start(args: list[str | Path], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gstreamed", *map(str, args)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_frames(folder: Path, frames: int, timeout: float = 60) -> None:
    """Wait until the JSON Lines output being written in ``folder`` holds ``frames`` lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = [p for p in partials(folder) if ".jsonl." in p.name]
        if files and files[0].read_bytes().count(b"\n") >= frames:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {frames} frames written in {timeout} s")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_stop_signal_finalises_a_playable_file(
    signum: int, long_clip: Path, slow_model: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    output, results = tmp_path / "out.mkv", tmp_path / "out.jsonl"
    proc = start([long_clip, "--model", slow_model, "-o", output, "--json", results], cli_env)
    try:
        wait_for_frames(tmp_path, 10)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert f"wrote {output}, {results} (interrupted)" in stderr
    frames = len(results.read_text().splitlines())
    assert 10 <= frames < 1500
    got = media.probe(output)
    assert (got.width, got.height, got.frames) == (320, 240, frames)
    duration = media.discover(output).get_duration() / 1e9
    assert abs(duration - frames / 30) < 0.1  # the header was written at the end
    assert partials(tmp_path) == []


def test_second_signal_stops_at_once_and_says_what_is_unfinished(
    long_clip: Path, model: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    # The JSON Lines go to a FIFO the test stops reading: the pipeline blocks, so the first
    # SIGTERM cannot finish the outputs and the second one must stop the run at once.
    fifo, output = tmp_path / "results.fifo", tmp_path / "out.mkv"
    os.mkfifo(fifo)
    proc = start([long_clip, "--model", model, "-o", output, "--json", fifo], cli_env)
    try:
        with open(fifo, "rb") as reader:
            assert reader.readline()  # running
            with contextlib.suppress(OSError):  # a small pipe fills at once, however fast
                fcntl.fcntl(reader, fcntl.F_SETPIPE_SZ, 4096)
            time.sleep(2)  # the pipe fills; the pipeline stalls
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            reader.read()  # let it go
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert "stopping at once" in stderr
    assert not output.exists()  # never an unfinalised file under the final name
    left = partials(tmp_path)
    errors = [line for line in stderr.splitlines() if line.startswith("gstreamed: error:")]
    assert len(left) == 1 and len(errors) == 1, stderr
    assert f"{output} not finalised" in errors[0] and str(left[0]) in errors[0]
    assert "wrote" not in stderr.replace(f"wrote {fifo}", "")


@pytest.fixture()
def damaged(tmp_path: Path, media_dir: Path) -> Callable[[str], Path]:
    """``damaged("truncated" | "corrupt-middle")``: a 10 s Matroska clip, cut or scrambled."""
    clip = media_dir / "ten_seconds.mkv"
    if not clip.exists():
        media.make_video(clip, frames=100, fps=10)
    data = clip.read_bytes()

    def make(kind: str) -> Path:
        path = tmp_path / f"{kind}.mkv"
        if kind == "truncated":
            path.write_bytes(data[: len(data) // 2])
        else:
            middle = slice(len(data) * 4 // 10, len(data) * 6 // 10)
            noise = bytes((i * 151 + 7) % 256 for i in range(middle.stop - middle.start))
            path.write_bytes(data[: middle.start] + noise + data[middle.stop :])
        return path

    return make


@pytest.mark.parametrize("kind", ["truncated", "corrupt-middle"])
def test_damaged_file_is_an_error_and_keeps_the_frames_before(
    kind: str, damaged, model: Path, cli: CliRunner, user_error, tmp_path: Path
) -> None:
    source, output, results = damaged(kind), tmp_path / "out.mkv", tmp_path / "out.jsonl"
    proc = cli(source, "--model", model, "-o", output, "--json", results)
    line = user_error(proc, str(source.name), "truncated or damaged", "at frame", "stream time")
    assert proc.returncode == 1
    frames = len(results.read_text().splitlines())
    assert 0 < frames < 100
    assert f"at frame {frames} " in line
    assert media.probe(output).frames == frames
    assert partials(tmp_path) == []


def test_http_server_that_stops_mid_stream(
    media_dir: Path, model: Path, cli: CliRunner, user_error, tmp_path: Path
) -> None:
    clip = media.make_video(media_dir / "served.mkv", frames=100, fps=10)
    output, results = tmp_path / "out.mkv", tmp_path / "out.jsonl"
    with http_server_that_stops(clip, 0.5) as url:
        proc = cli(url, "--model", model, "-o", output, "--json", results)
    line = user_error(proc, "served.mkv", "at frame", "stream time")
    frames = len(results.read_text().splitlines())
    assert 0 < frames < 100, line
    assert media.probe(output).frames == frames
    assert partials(tmp_path) == []


@pytest.mark.parametrize("kind", ["same", "hardlink", "symlink"])
@pytest.mark.parametrize("which", ["video", "image", "json"])
def test_output_onto_an_input_is_refused(
    kind: str,
    which: str,
    clips: dict[str, Path],
    images: dict[str, Path],
    model: Path,
    cli: CliRunner,
    user_error,
    tmp_path: Path,
) -> None:
    original = clips["mp4"] if which != "image" else images["jpg"]
    source = tmp_path / f"input{original.suffix}"
    source.write_bytes(original.read_bytes())
    target = tmp_path / f"alias{original.suffix}"
    if kind == "same":
        target = source
    elif kind == "hardlink":
        os.link(source, target)
    else:
        target.symlink_to(source)
    option = "--json" if which == "json" else "-o"
    user_error(cli(source, "--model", model, option, target, "--force"), "is the input")
    assert source.read_bytes() == original.read_bytes()
    assert partials(tmp_path) == []


def test_two_runs_on_one_output(
    clips: dict[str, Path], model: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    output = tmp_path / "shared.mkv"
    runs = [start([clips["mp4"], "--model", model, "-o", output], cli_env) for _ in range(2)]
    ended = [(run.wait(timeout=60), run.communicate()[1]) for run in runs]
    statuses = sorted(status for status, _ in ended)
    assert statuses == [0, 1], ended
    loser = next(stderr for status, stderr in ended if status == 1)
    errors = [line for line in loser.splitlines() if line.startswith("gstreamed: error:")]
    assert len(errors) == 1 and str(output) in errors[0], loser
    assert "already exists" in errors[0] or "exists already" in errors[0]
    assert media.probe(output).frames == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.mkv"]


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 300 KiB tmpfs (root only; skipped elsewhere)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.fixture(scope="module")
def noisy_clip(media_dir: Path) -> Path:
    """Snow compresses badly: megabytes of output in 20 s."""
    return media.make_video(media_dir / "snow.mp4", 320, 240, frames=600, fps=30, pattern="snow")


def test_disk_full_on_the_video(
    noisy_clip: Path, model: Path, cli: CliRunner, user_error, small_disk: Path, tmp_path: Path
) -> None:
    output, results = small_disk / "out.mkv", tmp_path / "out.jsonl"
    proc = cli(noisy_clip, "--model", model, "-o", output, "--json", results)
    line = user_error(proc, f"{output}: cannot write it: no space left on the device")
    assert not output.exists()
    (left,) = partials(small_disk)
    assert str(left) in line
    frames = len(results.read_text().splitlines())  # kept, whole lines
    assert 0 < frames < 600


def test_disk_full_on_the_json(
    noisy_clip: Path, model: Path, cli: CliRunner, user_error, small_disk: Path, tmp_path: Path
) -> None:
    filler = small_disk / "filler"
    filler.write_bytes(b"x" * (300 * 1024 - 40 * 1024))  # leave about 40 KiB
    output, results, mot = tmp_path / "out.mkv", small_disk / "out.jsonl", tmp_path / "out.txt"
    proc = cli(noisy_clip, "--model", model, "-o", output, "--json", results, "--mot", mot)
    line = user_error(proc, f"{results}: cannot write it: no space left on the device")
    text = results.read_text()
    assert text.endswith("\n")  # never cut mid-line
    frames = len(text.splitlines())
    assert 0 < frames < 600
    assert f"at frame {frames} " in line
    assert media.probe(output).frames == frames  # the video stopped there, finalised
    rows = mot.read_text()
    assert rows.endswith("\n") and max(int(r.split(",")[0]) for r in rows.splitlines()) == frames
