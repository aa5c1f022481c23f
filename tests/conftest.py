"""Shared fixtures: constant YOLO models with known boxes, generated media, the CLI runner.

Models come from `models.constant_yolo` (64x64 input); media from `media` (GStreamer and
OpenCV). Both are made once per session in a temporary directory, small enough for 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import media
import pytest
from models import CAR, PERSON, constant_yolo


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A constant model detecting a car and a person in every frame."""
    return constant_yolo(tmp_path_factory.mktemp("models") / "two.onnx", [CAR, PERSON])


@pytest.fixture(scope="session")
def car_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A constant model detecting only the car box."""
    return constant_yolo(tmp_path_factory.mktemp("models") / "car.onnx", [CAR])


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clips(media_dir: Path) -> dict[str, Path]:
    """One 160x120, 10-frame, 10 fps clip per container/codec, keyed by a short name."""
    made = {kind: media.make_video(media_dir / f"clip.{kind}") for kind in media.VIDEO_FORMATS}
    made["mp4+aac"] = media.make_video(media_dir / "with_audio.mp4", audio=True)
    made["odd-webm"] = media.make_video(media_dir / "odd.webm", width=33, height=17)
    made["odd-avi"] = media.make_video(media_dir / "odd.avi", width=33, height=17)
    return made


@pytest.fixture(scope="session")
def audio_only(media_dir: Path) -> Path:
    return media.make_audio_only(media_dir / "audio_only.mp4")


@pytest.fixture(scope="session")
def images(media_dir: Path) -> dict[str, Path]:
    """160x120 images: every format and pixel layout the CLI accepts."""
    made = {
        ext: media.make_image(media_dir / f"picture.{ext}")
        for ext in ("jpg", "png", "bmp", "webp", "tiff")
    }
    for mode in ("gray", "rgba", "rgb16"):
        made[mode] = media.make_image(media_dir / f"{mode}.png", mode=mode)
    return made


@pytest.fixture(scope="session")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of CLI runs: an empty model cache, no default model, no display, no
    model downloads (HF_HUB_OFFLINE)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GSTREAMED_MODEL", "DISPLAY", "WAYLAND_DISPLAY")
    }
    env["GSTREAMED_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess]:
    """``cli(*args, cwd=None, timeout=60, env=None)`` runs ``python -m gstreamed ARGS``."""

    def run(
        *args: str | Path,
        cwd: Path | None = None,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        """``env`` adds to (or overrides) the CLI environment."""
        return subprocess.run(
            [sys.executable, "-m", "gstreamed", *map(str, args)],
            cwd=cwd,
            env={**cli_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def _assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """A clean failure: non-zero exit, one ``gstreamed: error:`` line, no traceback."""
    assert proc.returncode not in (0, None), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("gstreamed: error:")]
    assert len(errors) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="session")
def user_error() -> Callable[..., str]:
    """``user_error(proc, *fragments)`` asserts a clean one-line CLI error; returns the line."""
    return _assert_user_error
