"""Damaged files end with one error, never a wait for a frame that cannot come."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

import gstreamed
from gstreamed.errors import GstreamedError
from gstreamed.gst import run as gst_run


def damaged_mp4(path: Path) -> Path:
    """An MP4 header and random bytes: qtdemux finds a bogus atom size. While decodebin
    plugs the demuxer it filters the demuxer's errors, and with these bytes the error
    fell into that window in 9 of 12 runs: no error message, no frame, no end."""
    rng = random.Random(13)
    size = rng.choice([500, 4000, 20000])
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + rng.randbytes(size))
    return path


def test_a_damaged_file_ends_with_one_error_every_time(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gst_run, "FIRST_FRAME_S", 2.0)
    bad = damaged_mp4(tmp_path / "bad.mp4")
    for _ in range(6):
        began = time.monotonic()
        with pytest.raises(GstreamedError) as error:
            gstreamed.process_file(bad, tmp_path / "out.mkv", model=model)
        assert time.monotonic() - began < 10
        message = str(error.value)
        assert message.startswith(f"{bad}: ") and "\n" not in message
        assert not (tmp_path / "out.mkv").exists()
        assert [p.name for p in tmp_path.iterdir()] == ["bad.mp4"]  # no temporary left
