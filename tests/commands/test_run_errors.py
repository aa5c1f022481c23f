"""Bad inputs, models and options: one ``gstreamed: error:`` line, non-zero exit, no
traceback, no hang, and no output file left behind."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from models import classifier_model, constant_model, constant_yolo

pytestmark = pytest.mark.timeout(60)

CliRunner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory the CLI runs in; tests check nothing appears in it."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def bad_input(kind: str, directory: Path, clips: dict[str, Path], audio_only: Path) -> Path:
    """A file (or not) the CLI must refuse, made inside ``directory``."""
    path = (
        directory
        / {
            "missing": "nope.mp4",
            "directory": "folder.mp4",
            "empty": "empty.mp4",
            "truncated": "half.mp4",
            "text": "notes.mp4",
            "audio-only": "song.mp4",
            "garbage-image": "noise.png",
        }[kind]
    )
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":  # a real MP4 cut in half (the index at the end is lost)
        data = clips["mp4"].read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "text":
        path.write_text("this is not a video\n" * 50)
    elif kind == "audio-only":
        path.write_bytes(audio_only.read_bytes())
    elif kind == "garbage-image":
        path.write_bytes(np.random.default_rng(0).bytes(4000))
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "not found"),
        ("directory", "directory"),
        ("empty", "empty"),
        ("truncated", "half.mp4"),
        ("text", "notes.mp4"),
        ("audio-only", "no video stream"),
        ("garbage-image", "noise.png"),
    ],
)
def test_bad_inputs(
    kind: str,
    message: str,
    clips: dict[str, Path],
    audio_only: Path,
    model: Path,
    cli: CliRunner,
    user_error,
    workdir: Path,
) -> None:
    source = bad_input(kind, workdir, clips, audio_only)
    before = sorted(p.name for p in workdir.iterdir())
    proc = cli(source, "--model", model, "--json", workdir / "dets.jsonl", cwd=workdir)
    user_error(proc, message)
    assert sorted(p.name for p in workdir.iterdir()) == before  # no half-written outputs


def _bad_model(kind: str, directory: Path) -> Path:
    path = directory / f"{kind}.onnx"
    if kind == "classifier":
        return classifier_model(path)
    if kind == "not-onnx":
        path.write_text("name,value\nthis,is a csv file\n")
    elif kind == "random-bytes":
        path.write_bytes(np.random.default_rng(1).bytes(5000))
    elif kind == "truncated":
        good = constant_yolo(directory / "good.onnx", [(32, 32, 8, 8, 0, 0.9)]).read_bytes()
        path.write_bytes(good[: len(good) // 2])
    elif kind == "one-channel":
        constant_yolo(path, [(32, 32, 8, 8, 0, 0.9)], input_channels=1)
    elif kind == "wrong-head":  # [1, 5, 10] fits no YOLO layout for 3 classes
        constant_model(path, np.zeros((1, 5, 10), np.float32))
    elif kind == "segmentation":
        constant_yolo(path, [(32, 32, 8, 8, 0, 0.9)], extra_metadata={"task": "segment"})
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("classifier", "YOLO"),
        ("not-onnx", "not a loadable ONNX model"),
        ("random-bytes", "not a loadable ONNX model"),
        ("truncated", "not a loadable ONNX model"),
        ("one-channel", "[B, 3, H, W]"),
        ("wrong-head", "YOLO"),
        ("segmentation", "segment"),
    ],
)
def test_bad_models(
    kind: str,
    message: str,
    clips: dict[str, Path],
    cli: CliRunner,
    user_error,
    tmp_path: Path,
    workdir: Path,
) -> None:
    model = _bad_model(kind, tmp_path)
    proc = cli(clips["mp4"], "--model", model, "-o", workdir / "out.mkv")
    user_error(proc, message)
    assert not list(workdir.iterdir())


def test_model_pointing_nowhere(
    clips: dict[str, Path], cli: CliRunner, user_error, workdir: Path
) -> None:
    proc = cli(clips["mp4"], "--model", workdir / "missing.onnx", "-o", workdir / "out.mkv")
    user_error(proc, "model not found", "missing.onnx")
    assert not list(workdir.iterdir())


def test_no_model_says_how_to_get_one(
    clips: dict[str, Path], cli: CliRunner, user_error, workdir: Path
) -> None:
    proc = cli(clips["mp4"], "-o", workdir / "out.mkv")
    line = user_error(proc, "--model", "GSTREAMED_MODEL")
    assert "pull" in line  # names the download command
    assert not list(workdir.iterdir())


def test_existing_output_needs_force(
    clips: dict[str, Path], model: Path, cli: CliRunner, user_error, workdir: Path
) -> None:
    source = workdir / "clip.mp4"
    source.write_bytes(clips["mp4"].read_bytes())
    existing = workdir / "clip.mp4.out.mkv"
    existing.write_bytes(b"an earlier result")
    user_error(cli(source, "--model", model), "already exists", "--force")
    assert existing.read_bytes() == b"an earlier result"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--live"], "display"),
        (["--classes", "nosuchclass"], "nosuchclass"),
        (["--conf", "2"], "--conf"),
        (["--iou", "-1"], "--iou"),
        (["--device", "tpu"], "tpu"),
    ],
)
def test_bad_options(
    options: list[str],
    message: str,
    clips: dict[str, Path],
    model: Path,
    cli: CliRunner,
    user_error,
    workdir: Path,
) -> None:
    proc = cli(clips["mp4"], "--model", model, "-o", workdir / "out.mkv", *options)
    user_error(proc, message)
    assert not list(workdir.iterdir())
