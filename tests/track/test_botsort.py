"""BoT-SORT (no ReID) on hand-worked sequences: camera motion, low-score recovery."""

from __future__ import annotations

import numpy as np
import pytest
from track_helpers import camera_jump, frame, ids_per_object, occlusion, run, texture

from gstreamed.errors import GstreamedError
from gstreamed.track import BotSortTracker, create_tracker
from gstreamed.track.cmc import CameraMotion


def test_camera_motion_is_the_image_shift() -> None:
    scene = texture(300, 400, seed=1)
    motion = CameraMotion()
    np.testing.assert_allclose(motion.estimate(scene[20:260, 40:360]), np.eye(2, 3))
    affine = motion.estimate(scene[16:256, 47:367])  # camera moved 7 right, 4 up
    np.testing.assert_allclose(affine[:, :2], np.eye(2), atol=0.01)
    np.testing.assert_allclose(affine[:, 2], [-7, 4], atol=0.5)


def test_camera_jump_keeps_ids_only_with_frames() -> None:
    dets, images = camera_jump()
    with_frames = BotSortTracker()
    outputs = [with_frames.update(d, image) for d, image in zip(dets, images, strict=True)]
    assert [sorted(o.track_id.tolist()) for o in outputs[1:]] == [[1, 2]] * 19
    blind = run(BotSortTracker(), dets)  # no frames: the jump breaks both tracks
    assert {int(i) for o in blind[12:] for i in o.track_id}.isdisjoint({1, 2})
    no_cmc = BotSortTracker(cmc=False)
    assert not no_cmc.uses_frames and BotSortTracker().uses_frames
    outputs = [no_cmc.update(d, image) for d, image in zip(dets, images, strict=True)]
    assert {int(i) for o in outputs[12:] for i in o.track_id}.isdisjoint({1, 2})


def test_low_score_detections_keep_an_occluded_identity() -> None:
    dets, gt = occlusion()
    ids = ids_per_object(gt, run(BotSortTracker(), dets))
    assert set(ids[1]) == {1} and len(set(ids[2])) == 1 and len(ids[2]) == 60


def test_kalman_box_keeps_width_and_height_apart() -> None:
    tracker = BotSortTracker()
    for t in range(6):  # widening box, constant height
        out = tracker.update(frame([[100, 50, 140 + 6 * t, 150]]))
    assert out.track_id.tolist() == [1]
    x1, y1, x2, y2 = out.xyxy[0]
    assert abs((y2 - y1) - 100) < 0.5 and abs((x2 - x1) - 70) < 4


@pytest.mark.parametrize("params", [{"cmc": "maybe"}, {"new_track_thresh": 1.5}])
def test_rejects_bad_params(params: dict) -> None:
    with pytest.raises(GstreamedError):
        create_tracker("botsort", **params)


def test_camera_motion_ignores_corners_of_detected_objects() -> None:
    """A static camera; a detected object (a textured box) filling most of the frame moves
    6 px per frame."""
    background, thing = texture(240, 320, seed=2), texture(240, 260, seed=9)
    frames = []
    for t in range(3):
        image = background.copy()
        image[:, 6 * t : 260 + 6 * t] = thing
        frames.append((image, np.array([[6.0 * t, 0, 260 + 6 * t, 240]])))
    fooled, masked = CameraMotion(), CameraMotion()
    for image, boxes in frames:
        moved = fooled.estimate(image)
        still = masked.estimate(image, boxes)
    assert abs(moved[0, 2]) > 3  # without the boxes, the object looks like camera motion
    np.testing.assert_allclose(still, np.eye(2, 3), atol=0.5)  # from the background strip
