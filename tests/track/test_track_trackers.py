"""SORT and ByteTrack on scripted scenes: what each algorithm is designed to survive."""

from __future__ import annotations

import numpy as np
import pytest
from track_helpers import box, frame, ids_per_object, run, switches

from gstreamed.detect.detections import Detections
from gstreamed.errors import GstreamedError
from gstreamed.track import ByteTracker, SortTracker, Tracker, create_tracker
from gstreamed.track.synthetic import SceneConfig, make_scene

TRACKERS = [SortTracker, ByteTracker]


def crossing(frames: int = 40) -> tuple[list[Detections], list[dict[int, list[float]]]]:
    """Two people walking towards each other, overlapping heavily while they pass."""
    dets, gt = [], []
    for t in range(frames):
        a, b = box(10 + 10 * t, 100), box(410 - 10 * t, 120)
        dets.append(frame([a, b], [0.9, 0.8], [0, 1]))
        gt.append({1: a, 2: b})
    return dets, gt


def with_gap(
    first: int, last: int, frames: int = 50, conf: float | None = None
) -> tuple[list[Detections], list[dict[int, list[float]]]]:
    """One object moving right; frames first..last have no detection (or one at ``conf``)."""
    dets, gt = [], []
    for t in range(frames):
        b = box(10 + 5 * t, 50 + 2 * t)
        gt.append({1: b})
        if first <= t <= last:
            dets.append(frame([b], conf) if conf is not None else frame([]))
        else:
            dets.append(frame([b]))
    return dets, gt


@pytest.mark.parametrize("cls", TRACKERS)
def test_is_a_tracker(cls: type) -> None:
    assert isinstance(cls(), Tracker)


@pytest.mark.parametrize("cls", TRACKERS)
def test_identities_survive_crossing(cls: type) -> None:
    dets, gt = crossing()
    outputs = run(cls(), dets)
    seen = ids_per_object(gt, outputs)
    assert set(seen[1]) != set(seen[2])
    assert len(set(seen[1])) == 1 and len(set(seen[2])) == 1
    assert len(seen[1]) >= 35 and len(seen[2]) >= 35


@pytest.mark.parametrize("cls", TRACKERS)
def test_output_rows_are_input_rows(cls: type) -> None:
    dets, _ = crossing(10)
    for inp, out in zip(dets, run(cls(), dets), strict=True):
        assert len(out) == 2
        np.testing.assert_array_equal(out.xyxy, inp.xyxy)
        np.testing.assert_array_equal(out.confidence, inp.confidence)
        np.testing.assert_array_equal(out.class_id, inp.class_id)
        assert out.names == inp.names
        assert set(out.track_id.tolist()) == {1, 2}


def test_sort_max_age_bridges_a_gap_of_that_length() -> None:
    dets, gt = with_gap(10, 14)
    long_memory = ids_per_object(gt, run(SortTracker(max_age=5), dets))[1]
    assert set(long_memory) == {1}
    default = ids_per_object(gt, run(SortTracker(), dets))[1]
    assert len(set(default)) == 2  # max_age=1: the published default gives up after a frame


def test_sort_reports_only_after_min_hits() -> None:
    dets = [frame([box(10 + 5 * t, 50)]) for t in range(10)]
    dets[6] = frame([box(500, 500), box(10 + 5 * 6, 50)])  # one-frame false positive
    outputs = run(SortTracker(), dets)
    assert [len(o) for o in outputs] == [1] * 10
    assert all(o.xyxy[0, 1] == 50 for o in outputs)


def test_sort_new_track_reported_after_min_hits_matches() -> None:
    # as abewley/sort: the first detection creates the track, min_hits more matches report it
    dets = [frame([box(10, 10)]) for _ in range(5)]
    dets += [frame([box(10, 10), box(300, 300)]) for _ in range(5)]
    counts = [len(o) for o in run(SortTracker(min_hits=3), dets)]
    assert counts == [1] * 5 + [1, 1, 1, 2, 2]


def test_bytetrack_survives_long_gap() -> None:
    dets, gt = with_gap(10, 29)  # 20 frames without detections, within track_buffer=30
    seen = ids_per_object(gt, run(ByteTracker(), dets))[1]
    assert set(seen) == {1}
    assert len(seen) == 50 - 20


def test_bytetrack_drops_track_after_buffer() -> None:
    dets, gt = with_gap(5, 20, frames=30)
    seen = ids_per_object(gt, run(ByteTracker(track_buffer=10), dets))[1]
    assert len(set(seen)) == 2


def test_bytetrack_frame_rate_scales_buffer() -> None:
    dets, gt = with_gap(5, 20, frames=30)  # 16 missing frames
    assert (
        len(set(ids_per_object(gt, run(ByteTracker(track_buffer=10, frame_rate=60), dets))[1])) == 1
    )


def test_bytetrack_keeps_low_confidence_detections_of_a_tracked_object() -> None:
    dets, _gt = with_gap(10, 19, conf=0.3)  # seen only with low score for 10 frames
    outputs = run(ByteTracker(), dets)
    assert [len(o) for o in outputs] == [1] * 50
    assert {int(o.track_id[0]) for o in outputs} == {1}
    assert all(abs(float(o.confidence[0]) - 0.3) < 1e-6 for o in outputs[10:20])
    assert abs(float(outputs[25].confidence[0]) - 0.9) < 1e-6


def test_bytetrack_low_confidence_alone_starts_nothing() -> None:
    tracker = ByteTracker()
    assert [len(tracker.update(frame([box(10, 10)], 0.4))) for _ in range(10)] == [0] * 10
    tracker = ByteTracker()
    assert len(tracker.update(frame([box(10, 10)], 0.55))) == 0  # below new_track_thresh


def test_bytetrack_confirms_after_second_frame() -> None:
    tracker = ByteTracker()
    assert len(tracker.update(frame([box(10, 10)]))) == 1  # the stream's first frame
    assert len(tracker.update(frame([box(12, 10), box(300, 300)]))) == 1
    out = tracker.update(frame([box(14, 10), box(302, 300)]))
    assert out.track_id.tolist() == [1, 2]
    # a one-frame false positive never gets an id
    out = tracker.update(frame([box(16, 10), box(304, 300), box(700, 50)]))
    assert out.track_id.tolist() == [1, 2]


def test_bytetrack_occlusion_with_low_scores_beats_sort() -> None:
    """A person walks behind another; while hidden the detector still sees it at 0.3."""
    dets, gt = [], []
    for t in range(60):
        front, back = box(300, 100, 60, 150), box(100 + 5 * t, 110, 50, 130)
        gt.append({1: front, 2: back})
        hidden = 30 <= t <= 50
        dets.append(frame([front, back], [0.9, 0.3 if hidden else 0.85]))
    byte_ids = ids_per_object(gt, run(ByteTracker(), dets))
    assert set(byte_ids[1]) == {1} and len(set(byte_ids[2])) == 1
    assert len(byte_ids[2]) == 60


def _outputs_equal(a: list[Detections], b: list[Detections]) -> bool:
    return all(
        np.array_equal(x.track_id, y.track_id) and np.array_equal(x.xyxy, y.xyxy)
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("name", ["sort", "bytetrack"])
def test_random_scene_few_id_switches(name: str) -> None:
    scene = make_scene(SceneConfig(frames=150, objects=12, seed=3))
    gt = [
        dict(zip(ids.tolist(), boxes.tolist(), strict=True))
        for ids, boxes in zip(scene.gt_ids, scene.gt_boxes, strict=True)
    ]
    outputs = run(create_tracker(name), scene.detections)
    assert sum(len(o) for o in outputs) > 0.7 * sum(len(g) for g in gt)
    assert switches(gt, outputs) <= 0.02 * sum(len(g) for g in gt)


@pytest.mark.parametrize("cls", TRACKERS)
def test_instances_have_their_own_ids(cls: type) -> None:
    dets, _ = crossing(10)
    first, second = cls(), cls()
    out_first = run(first, dets[:5])
    other = run(second, [frame([box(600, 600), box(700, 700), box(800, 800)])] * 5)
    assert {int(i) for o in other for i in o.track_id} == {1, 2, 3}
    out_first += run(first, dets[5:])
    assert {int(i) for o in out_first for i in o.track_id} == {1, 2}
    assert _outputs_equal(out_first, run(cls(), dets))


@pytest.mark.parametrize("cls", TRACKERS)
def test_reset_restarts_ids_and_forgets_tracks(cls: type) -> None:
    tracker = cls()
    run(tracker, [frame([box(600, 600), box(700, 700), box(800, 800)])] * 5)
    tracker.reset()
    dets, _ = crossing(10)
    assert _outputs_equal(run(tracker, dets), run(cls(), dets))


@pytest.mark.parametrize("cls", TRACKERS)
def test_empty_and_degenerate_frames(cls: type) -> None:
    tracker = cls()
    assert len(tracker.update(Detections.empty())) == 0
    bad = frame([[10, 10, 10, 50], [np.nan, 0, 5, 5], [30, 30, 20, 40]])
    for _ in range(5):
        out = tracker.update(bad)
        assert len(out) == 0
    assert len(tracker.update(Detections.empty())) == 0


@pytest.mark.parametrize("cls", TRACKERS)
def test_class_is_the_latest_detection_class(cls: type) -> None:
    tracker = cls()
    dets = [frame([box(10 + 2 * t, 10)], 0.9, 0 if t < 5 else 1) for t in range(10)]
    outputs = run(tracker, dets)
    assert {int(o.track_id[0]) for o in outputs} == {1}
    assert [int(o.class_id[0]) for o in outputs] == [0] * 5 + [1] * 5


@pytest.mark.parametrize(
    "params",
    [{"max_age": -1}, {"iou_threshold": 1.5}, {"min_hits": "x"}, {"max_age": 1.5}, {"nope": 1}],
)
def test_sort_rejects_bad_params(params: dict) -> None:
    with pytest.raises(GstreamedError):
        create_tracker("sort", **params)


@pytest.mark.parametrize(
    "params",
    [
        {"track_buffer": -3},
        {"frame_rate": 0},
        {"match_thresh": float("nan")},
        {"fuse_score": "maybe"},
    ],
)
def test_bytetrack_rejects_bad_params(params: dict) -> None:
    with pytest.raises(GstreamedError):
        create_tracker("bytetrack", **params)


def test_unknown_tracker() -> None:
    with pytest.raises(GstreamedError, match="sort, bytetrack"):
        create_tracker("deepsort")


def test_params_convert_strings() -> None:
    tracker = create_tracker("bytetrack", track_buffer="60", frame_rate="25", fuse_score="false")
    assert tracker.track_buffer == 60 and tracker.max_time_lost == 50
    assert tracker.fuse_score is False
