"""``--segment-time``: the video output cut into playable files on keyframes; the JSON stream
time runs on; ``--max-segments`` keeps a ring of the newest."""

from __future__ import annotations

import json
from pathlib import Path

import media
import pytest

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def ten_seconds(media_dir: Path) -> Path:
    """300 frames at 30 fps, a keyframe every 30."""
    return media.make_video(media_dir / "ten.mp4", frames=300, fps=30)


def segments(folder: Path) -> list[Path]:
    return sorted(folder.glob("ten.mp4.out.0*.mkv"))


def test_segments_are_playable_and_hold_every_frame(
    ten_seconds: Path, model: Path, cli, tmp_path: Path
) -> None:
    source = tmp_path / "ten.mp4"
    source.write_bytes(ten_seconds.read_bytes())
    proc = cli(source, "--model", model, "--segment-time", "3s", "--json", tmp_path / "r.jsonl")
    assert proc.returncode == 0, proc.stderr
    made = segments(tmp_path)
    assert [p.name for p in made] == [f"ten.mp4.out.{n:05d}.mkv" for n in range(1, 5)]
    counts = [media.probe(p).frames for p in made]  # each decodes on its own
    assert sum(counts) == 300
    assert all(60 <= c <= 120 for c in counts[:-1])  # about 3 s each, cut on keyframes
    pts = [json.loads(line)["pts"] for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert len(pts) == 300 and pts == sorted(pts) and pts[-1] > 9.9  # runs on over segments
    assert not (tmp_path / "ten.mp4.out.mkv").exists()
    assert not list(tmp_path.glob(".*.partial"))


def test_max_segments_keeps_the_newest(ten_seconds: Path, model: Path, cli, tmp_path) -> None:
    source = tmp_path / "ten.mp4"
    source.write_bytes(ten_seconds.read_bytes())
    proc = cli(source, "--model", model, "--segment-time", "2s", "--max-segments", "2")
    assert proc.returncode == 0, proc.stderr
    kept = segments(tmp_path)
    assert [p.name for p in kept] == ["ten.mp4.out.00004.mkv", "ten.mp4.out.00005.mkv"]
    assert all(media.probe(p).frames > 0 for p in kept)


def test_existing_segment_needs_force(
    ten_seconds: Path, model: Path, cli, user_error, tmp_path: Path
) -> None:
    source = tmp_path / "ten.mp4"
    source.write_bytes(ten_seconds.read_bytes())
    first = tmp_path / "ten.mp4.out.00001.mkv"
    first.write_bytes(b"earlier")
    user_error(cli(source, "--model", model, "--segment-time", "3s"), "already exists")
    assert first.read_bytes() == b"earlier"


@pytest.mark.parametrize("value", ["0", "-1m", "ten"])
def test_bad_segment_time(value: str, ten_seconds: Path, model: Path, cli) -> None:
    proc = cli(ten_seconds, "--model", model, "--segment-time", value)
    assert proc.returncode == 2 and "--segment-time" in proc.stderr
    assert "Traceback" not in proc.stderr
