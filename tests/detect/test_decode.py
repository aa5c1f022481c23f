"""Decoding YOLO head outputs: layouts, confidence filter, class filter, class-aware NMS."""

from __future__ import annotations

import numpy as np
import pytest
from models import yolo_v8_output

from gstreamed.backends.base import detect_layout
from gstreamed.detect.decode import candidates, nms
from gstreamed.errors import GstreamedError


def test_layout_detection():
    assert detect_layout([1, 84, 8400], 80, "m") == "v8"
    assert detect_layout(["batch", 7, "anchors"], 3, "m") == "v8"
    assert detect_layout([1, 25200, 85], 80, "m") == "v5"
    assert detect_layout([1, 300, 6], 80, "m") == "end2end"
    with pytest.raises(GstreamedError, match="expected"):
        detect_layout([1, 1000], 80, "m")
    with pytest.raises(GstreamedError, match="does not fit 80 classes"):
        detect_layout([1, 50, 8400], 80, "m")


def test_v8_candidates_to_xyxy_with_threshold():
    out = yolo_v8_output([(50, 40, 20, 10, 2, 0.9), (10, 10, 4, 4, 0, 0.2)], 3, 16)[0]
    raw = candidates(out, "v8", conf=0.25)
    np.testing.assert_allclose(raw.xyxy, [[40, 35, 60, 45]])
    np.testing.assert_allclose(raw.confidence, [0.9])
    assert raw.class_id.tolist() == [2]


def test_class_filter_keeps_only_asked_classes():
    out = yolo_v8_output([(50, 40, 20, 10, 2, 0.9), (10, 10, 4, 4, 0, 0.8)], 3, 16)[0]
    raw = candidates(out, "v8", conf=0.25, classes=np.array([0]))
    assert raw.class_id.tolist() == [0]
    np.testing.assert_allclose(raw.confidence, [0.8])


def test_v5_multiplies_objectness():
    out = np.zeros((4, 5 + 2), np.float32)
    out[0] = [50, 50, 10, 10, 0.5, 0.1, 0.9]  # 0.45 for class 1
    out[1] = [20, 20, 10, 10, 0.2, 0.9, 0.0]  # 0.18: below threshold
    raw = candidates(out, "v5", conf=0.25)
    np.testing.assert_allclose(raw.confidence, [0.45])
    assert raw.class_id.tolist() == [1]


def test_end2end_rows():
    out = np.array([[1, 2, 3, 4, 0.9, 5], [0, 0, 1, 1, 0.1, 0]], np.float32)
    raw = candidates(out, "end2end", conf=0.25)
    np.testing.assert_allclose(raw.xyxy, [[1, 2, 3, 4]])
    assert raw.class_id.tolist() == [5]


def test_nms_is_class_aware():
    boxes = [
        (50, 50, 20, 20, 0, 0.9),
        (51, 50, 20, 20, 0, 0.8),  # same class: suppressed
        (50, 51, 20, 20, 1, 0.7),  # other class: kept
        (10, 10, 5, 5, 0, 0.6),
    ]  # far away: kept
    raw = candidates(yolo_v8_output(boxes, 2, 8)[0], "v8", conf=0.25)
    keep = nms(raw, iou=0.45, max_det=300)
    np.testing.assert_allclose(raw.confidence[keep], [0.9, 0.7, 0.6])
    assert nms(raw, iou=0.45, max_det=2).tolist() == keep[:2].tolist()


def test_nms_on_nothing():
    raw = candidates(yolo_v8_output([], 2, 8)[0], "v8", conf=0.25)
    assert len(nms(raw, 0.45, 300)) == 0
