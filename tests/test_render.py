"""Drawing: boxes land on the right pixels, labels carry name, confidence and track id."""

from __future__ import annotations

import numpy as np

from gstreamed.detect.detections import Detections
from gstreamed.render import PALETTE, DrawParams, draw, label_of


def sample() -> Detections:
    return Detections([[10, 20, 60, 90]], [0.87], [1], [12], names=("person", "car"))


def test_label_text():
    dets = sample()
    assert label_of(dets, 0) == "car 0.87 #12"
    assert label_of(dets, 0, show_conf=False) == "car #12"
    untracked = dets.with_track_ids(np.array([-1]))
    assert label_of(untracked, 0) == "car 0.87"


def test_box_edges_drawn_in_track_colour_and_nothing_far_away():
    frame = np.zeros((120, 160, 3), np.uint8)
    draw(frame, sample(), DrawParams(thickness=1))
    colour = PALETTE[12 % len(PALETTE)]
    assert (frame[50, 10] == colour).all()  # left edge
    assert (frame[50, 60] == colour).all()  # right edge
    assert (frame[90, 35] == colour).all()  # bottom edge
    assert (frame[50, 35] == 0).all()  # inside the box: untouched
    assert (frame[110:, 100:] == 0).all()  # far away: untouched


def test_draw_works_on_padded_rows_in_place():
    storage = np.zeros((40, 36 * 3 + 4), np.uint8)  # rows padded like GStreamer RGB strides
    frame = np.ndarray((40, 35, 3), np.uint8, storage, strides=(storage.strides[0], 3, 1))
    draw(
        frame,
        Detections([[2, 2, 30, 30]], [0.5], [0], names=("person",)),
        DrawParams(thickness=1),
    )
    assert storage.any()


def test_nothing_to_draw_leaves_frame_untouched():
    frame = np.zeros((10, 10, 3), np.uint8)
    draw(frame, Detections.empty(("person",)))
    assert not frame.any()
