"""`Detections` ⇄ `supervision.Detections`, and the README's line-counting examples run on a
generated clip of a moving box."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from models import brightness_yolo

import gstreamed
from gstreamed import Detections

sv = pytest.importorskip("supervision")

README = Path(__file__).resolve().parent.parent / "README.md"


def _assert_same(a: Detections, b: Detections) -> None:
    np.testing.assert_array_equal(a.xyxy, b.xyxy)
    np.testing.assert_array_equal(a.confidence, b.confidence)
    np.testing.assert_array_equal(a.class_id, b.class_id)
    np.testing.assert_array_equal(a.track_id, b.track_id)
    assert list(a.names) == list(b.names)


def test_round_trip_is_lossless() -> None:
    ours = Detections(
        [[1.25, 2.5, 30.125, 40.0], [5, 6, 7, 8.75], [0, 0, 1, 1]],
        [0.91, 0.5, 0.33],
        [2, 0, 7],
        [3, -1, 12],
        names=["person", "car", "dog"],
    )
    theirs = ours.to_supervision()
    assert isinstance(theirs, sv.Detections)
    assert theirs.tracker_id.tolist() == [3, -1, 12]
    assert theirs.data["class_name"].tolist() == ["dog", "person", "7"]
    _assert_same(Detections.from_supervision(theirs), ours)

    untracked = Detections([[1, 2, 3, 4]], [0.5], [1], names=["a", "b"])
    assert untracked.to_supervision().tracker_id is None
    _assert_same(Detections.from_supervision(untracked.to_supervision()), untracked)
    _assert_same(
        Detections.from_supervision(Detections.empty(["a"]).to_supervision()),
        Detections.empty(["a"]),
    )


def test_from_plain_supervision_detections() -> None:
    """As supervision's own converters make them: names per row, maybe no confidence."""
    theirs = sv.Detections(
        xyxy=np.array([[0, 0, 10, 10], [5, 5, 20, 20]], float),
        class_id=np.array([2, 0]),
        data={"class_name": np.array(["dog", "person"])},
    )
    ours = Detections.from_supervision(theirs)
    assert ours.class_names == ["dog", "person"]
    assert ours.confidence.tolist() == [1.0, 1.0] and ours.track_id.tolist() == [-1, -1]
    assert Detections.from_supervision(theirs, names=["p", "c", "d"]).class_names == ["d", "p"]


def _brightening(path: Path, rising: bool) -> Path:
    """A 160x120 MJPEG clip of plain grey frames getting brighter (or darker): with
    `brightness_yolo` the box moves right (or left) across x = 80."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(20):
        level = i * 255 // 19 if rising else 255 - i * 255 // 19
        writer.write(np.full((120, 160, 3), level, np.uint8))
    writer.release()
    return path


def _readme_example(name: str) -> str:
    found = re.search(rf"<!-- example: {name} -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert found, name
    return found.group(1)


def _run_example(name: str, clip: Path, model: Path) -> str:
    code = _readme_example(name)
    code = code.replace('"traffic.mp4"', repr(str(clip))).replace(
        '"yolov8n.onnx"', repr(str(model))
    )
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, f"README:{name}", "exec"), {})
    return output.getvalue().strip()


@pytest.mark.timeout(120)
def test_readme_line_counting_examples(tmp_path: Path) -> None:
    # A 20x20 box (8x8 network pixels) whose centre moves right by 48 network pixels times
    # the network input's mean (letterbox bars included) as the frames brighten.
    model = brightness_yolo(tmp_path / "moving.onnx", [(8.0, 32.0, 8.0, 8.0, 1, 0.9)], 48.0)
    rightwards = _brightening(tmp_path / "right.avi", rising=True)
    leftwards = _brightening(tmp_path / "left.avi", rising=False)
    # The box really moves across the line in what gstreamed.stream yields.
    centres = [
        float(f.detections.xyxy[0, [0, 2]].mean())
        for f in gstreamed.stream(rightwards, model=model)
    ]
    assert centres[0] < 40 and centres[-1] > 120

    assert _run_example("line-numpy", rightwards, model) == "1 left to right, 0 right to left"
    assert _run_example("line-numpy", leftwards, model) == "0 left to right, 1 right to left"
    # supervision names the two directions after its line's orientation: one each way.
    right_counts = _run_example("line-zone", rightwards, model)
    left_counts = _run_example("line-zone", leftwards, model)
    assert {right_counts, left_counts} == {"1 in, 0 out", "0 in, 1 out"}
