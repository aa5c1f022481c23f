"""The Python API without the CLI: load_detector, detect, create_tracker, process_file."""

from __future__ import annotations

import json
from pathlib import Path

import media
import numpy as np
import pytest

import gstreamed


def test_detect_and_track_frames(model: Path):
    detector = gstreamed.load_detector(model, conf=0.3)
    frame = np.zeros((240, 320, 3), np.uint8)
    detections = detector.detect(frame)
    assert isinstance(detections, gstreamed.Detections)
    assert len(detections) > 0
    assert detections.xyxy.dtype == np.float32 and detections.xyxy.shape[1] == 4
    assert (detections.track_id == -1).all()
    tracker = gstreamed.create_tracker("sort")
    tracked = [tracker.update(detector.detect(frame)) for _ in range(5)][-1]
    assert len(tracked) == len(detections)
    assert (tracked.track_id >= 1).all()
    np.testing.assert_allclose(tracked.confidence, detections.confidence)


def test_process_file_writes_video_and_json(model: Path, clips: dict[str, Path], tmp_path: Path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(clips["mp4"].read_bytes())
    results = tmp_path / "clip.jsonl"
    run = gstreamed.process_file(clip, json=results, model=model, tracker="bytetrack")
    assert run.frames == 10
    assert media.probe(tmp_path / "clip.mp4.out.mkv").frames == 10
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(10))
    assert all(d["track_id"] is not None for d in lines[-1]["detections"])
    assert run.timings.summary()  # per-stage timings of the run


def test_process_file_refuses_to_overwrite(model: Path, clips: dict[str, Path], tmp_path: Path):
    output = tmp_path / "taken.mkv"
    output.write_bytes(b"keep me")
    with pytest.raises(gstreamed.GstreamedError, match="already exists"):
        gstreamed.process_file(clips["mp4"], output, model=model)
    assert output.read_bytes() == b"keep me"
