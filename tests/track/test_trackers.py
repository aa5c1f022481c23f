"""What every tracker does: ids, crossings, output rows, independence, reset, predict."""

from __future__ import annotations

import numpy as np
import pytest
from track_helpers import box, crossing, frame, ids_per_object, run, switches

from gstreamed.detect.detections import Detections
from gstreamed.errors import GstreamedError
from gstreamed.track import TRACKERS, Tracker, create_tracker
from gstreamed.track.synthetic import SceneConfig, make_scene

CLASSES = list(TRACKERS.values())


@pytest.mark.parametrize("cls", CLASSES)
def test_is_a_tracker(cls: type) -> None:
    assert isinstance(cls(), Tracker)


@pytest.mark.parametrize("cls", CLASSES)
def test_identities_survive_crossing(cls: type) -> None:
    dets, gt = crossing()
    outputs = run(cls(), dets)
    seen = ids_per_object(gt, outputs)
    assert set(seen[1]) != set(seen[2])
    assert len(set(seen[1])) == 1 and len(set(seen[2])) == 1
    assert len(seen[1]) >= 35 and len(seen[2]) >= 35


@pytest.mark.parametrize("cls", CLASSES)
def test_every_input_row_comes_back(cls: type) -> None:
    dets, _ = crossing(10)
    tracker = cls()
    for t, inp in enumerate(dets):
        out = tracker.update(inp)
        assert len(out) == 2
        np.testing.assert_array_equal(out.raw_xyxy, inp.xyxy)
        np.testing.assert_allclose(out.xyxy, inp.xyxy, atol=5.0)  # filtered: near the detection
        np.testing.assert_array_equal(out.confidence, inp.confidence)
        np.testing.assert_array_equal(out.class_id, inp.class_id)
        assert out.names == inp.names
        if t >= 3:
            assert set(out.track_id.tolist()) == {1, 2}


@pytest.mark.parametrize("cls", CLASSES)
def test_detection_box_setting_reports_the_detector_box(cls: type) -> None:
    dets, _ = crossing(10)
    for inp, out in zip(dets, run(cls(box="detection"), dets), strict=True):
        rows = [int(np.flatnonzero((inp.xyxy == b).all(axis=1))[0]) for b in out.xyxy]
        assert len(set(rows)) == len(rows)


@pytest.mark.parametrize("name", list(TRACKERS))
def test_random_scene_few_id_switches(name: str) -> None:
    scene = make_scene(SceneConfig(frames=150, objects=12, seed=3))
    gt = [
        dict(zip(ids.tolist(), boxes.tolist(), strict=True))
        for ids, boxes in zip(scene.gt_ids, scene.gt_boxes, strict=True)
    ]
    outputs = run(create_tracker(name), scene.detections)
    assert sum(len(o) for o in outputs) > 0.7 * sum(len(g) for g in gt)
    assert switches(gt, outputs) <= 0.02 * sum(len(g) for g in gt)


def _outputs_equal(a: list[Detections], b: list[Detections]) -> bool:
    return all(
        np.array_equal(x.track_id, y.track_id) and np.array_equal(x.xyxy, y.xyxy)
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("cls", CLASSES)
def test_instances_have_their_own_ids(cls: type) -> None:
    dets, _ = crossing(10)
    first, second = cls(), cls()
    out_first = run(first, dets[:5])
    other = run(second, [frame([box(600, 600), box(700, 700), box(800, 800)])] * 5)
    assert {int(i) for o in other for i in o.track_id} == {1, 2, 3}
    out_first += run(first, dets[5:])
    assert {int(i) for o in out_first for i in o.track_id} == {1, 2}
    assert _outputs_equal(out_first, run(cls(), dets))


@pytest.mark.parametrize("cls", CLASSES)
def test_reset_restarts_ids_and_forgets_tracks(cls: type) -> None:
    tracker = cls()
    run(tracker, [frame([box(600, 600), box(700, 700), box(800, 800)])] * 5)
    tracker.predict()
    tracker.reset()
    dets, _ = crossing(10)
    assert _outputs_equal(run(tracker, dets), run(cls(), dets))
    assert len(cls().predict()) == 0


@pytest.mark.parametrize("cls", CLASSES)
def test_empty_and_degenerate_frames(cls: type) -> None:
    tracker = cls()
    assert len(tracker.update(Detections.empty())) == 0
    bad = frame([[10, 10, 10, 50], [np.nan, 0, 5, 5], [30, 30, 20, 40]])
    for _ in range(5):
        out = tracker.update(bad)
        assert out.track_id.tolist() == [-1, -1, -1]
    assert len(tracker.update(Detections.empty())) == 0
    assert len(tracker.predict()) == 0


@pytest.mark.parametrize("cls", CLASSES)
def test_class_is_the_latest_detection_class(cls: type) -> None:
    tracker = cls()
    dets = [frame([box(10 + 2 * t, 10)], 0.9, 0 if t < 5 else 1) for t in range(10)]
    outputs = run(tracker, dets)
    assert {int(o.track_id[0]) for o in outputs} == {1}
    assert [int(o.class_id[0]) for o in outputs] == [0] * 5 + [1] * 5
    predicted = tracker.predict()
    assert predicted.class_id.tolist() == [1] and predicted.names == ("person", "car")


@pytest.mark.parametrize("cls", CLASSES)
def test_two_frames_in_three_skipped_keep_ids(cls: type) -> None:
    dets, gt = crossing(100, speed=4.0)
    tracker = cls()
    outputs = [tracker.update(d) if t % 3 == 0 else tracker.predict() for t, d in enumerate(dets)]
    seen = ids_per_object(gt, [o[o.track_id >= 0] for o in outputs])
    assert len(set(seen[1])) == 1 and len(set(seen[2])) == 1 and set(seen[1]) != set(seen[2])
    assert len(seen[1]) >= 90


def test_unknown_tracker() -> None:
    with pytest.raises(GstreamedError, match="sort, bytetrack"):
        create_tracker("deepsort")
