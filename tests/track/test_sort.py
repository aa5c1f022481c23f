"""SORT on hand-worked sequences: Kalman boxes, min_hits, max_age, predict."""

from __future__ import annotations

import numpy as np
import pytest
from track_helpers import box, frame, ids_per_object, run, tracked, with_gap

from gstreamed.errors import GstreamedError
from gstreamed.track import SortTracker, create_tracker
from gstreamed.track.kalman import SortKalman


def test_max_age_bridges_a_gap_of_that_length() -> None:
    dets, gt = with_gap(10, 14)
    long_memory = ids_per_object(gt, run(SortTracker(max_age=5), dets))[1]
    assert set(long_memory) == {1}
    default = ids_per_object(gt, run(SortTracker(), dets))[1]
    assert len(set(default)) == 2  # max_age=1: the published default gives up after a frame


def test_reports_only_after_min_hits() -> None:
    dets = [frame([box(10 + 5 * t, 50)]) for t in range(10)]
    dets[6] = frame([box(500, 500), box(10 + 5 * 6, 50)])  # one-frame false positive
    outputs = run(SortTracker(), dets)
    assert [len(o) for o in outputs] == [1] * 10
    assert all(abs(o.xyxy[0, 1] - 50) < 0.5 for o in outputs)


def test_new_track_reported_after_min_hits_matches() -> None:
    # as abewley/sort: the first detection creates the track, min_hits more matches report it
    dets = [frame([box(10, 10)]) for _ in range(5)]
    dets += [frame([box(10, 10), box(300, 300)]) for _ in range(5)]
    counts = [len(o) for o in run(SortTracker(min_hits=3), dets)]
    assert counts == [1] * 5 + [1, 1, 1, 2, 2]


def test_untracked_rows_come_back_without_id() -> None:
    tracker = SortTracker()
    for t in range(5):
        tracker.update(frame([box(10 + 5 * t, 50)]))
    out = tracker.update(frame([box(500, 500), box(35, 50)], [0.7, 0.9], [1, 0]))
    assert out.track_id.tolist() == [-1, 1]  # the newcomer has no id yet, in input order
    assert out.confidence.tolist() == [np.float32(0.7), np.float32(0.9)]
    np.testing.assert_array_equal(out.xyxy[0], box(500, 500))


def test_kalman_box_smooths_a_jittery_detection() -> None:
    # steady motion then one detection 12 px off: the filtered box lies between
    dets = [frame([box(10 + 5 * t, 50)]) for t in range(10)]
    dets.append(frame([box(60, 62)]))
    tracker = SortTracker()
    out = [tracker.update(f) for f in dets][-1]
    assert out.track_id.tolist() == [1]
    assert 50 < out.xyxy[0, 1] < 62
    np.testing.assert_array_equal(out.raw_xyxy[0], box(60, 62))
    raw = [SortTracker(box="detection").update(f) for f in dets][-1]
    np.testing.assert_array_equal(raw.xyxy[0], box(60, 62))


def test_predict_moves_tracks_and_skipped_frames_are_not_misses() -> None:
    tracker = SortTracker()  # max_age=1, yet three skipped frames do not end the track
    for t in range(5):
        tracker.update(frame([box(10 + 10 * t, 50)]))
    xs = []
    for _ in range(3):
        predicted = tracker.predict()
        assert predicted.track_id.tolist() == [1]
        xs.append(float(predicted.xyxy[0, 0]))
    assert np.allclose(np.diff([50.0, *xs]), 10, atol=1.5)  # keeps moving at 10 px/frame
    out = tracker.update(frame([box(90, 50)]))
    assert tracked(out).track_id.tolist() == [1]


@pytest.mark.parametrize(
    "params",
    [{"max_age": -1}, {"iou_threshold": 1.5}, {"min_hits": "x"}, {"max_age": 1.5}, {"nope": 1}],
)
def test_rejects_bad_params(params: dict) -> None:
    with pytest.raises(GstreamedError):
        create_tracker("sort", **params)


def test_compact_filter_equals_the_matrix_filter() -> None:
    """The compact covariance gives abewley/sort's 7x7 Kalman filter, step for step."""
    f = np.eye(7)
    f[[0, 1, 2], [4, 5, 6]] = 1.0
    q = np.diag([1.0, 1.0, 1.0, 1.0, 0.01, 0.01, 0.0001])
    r = np.diag([1.0, 1.0, 10.0, 10.0])
    h = np.eye(4, 7)
    rng = np.random.default_rng(3)
    boxes = np.cumsum(rng.normal(2.0, 3.0, (12, 4)), axis=0) + np.array([100, 100, 160, 220])
    z = SortKalman.measure(boxes)
    mean, cov = SortKalman.initiate(z[:1])
    x, p = mean[0, :7].copy(), np.diag([10.0] * 4 + [1e4] * 3)
    for step, measured in enumerate(z[1:]):
        mean, cov = SortKalman.predict(mean, cov)
        x, p = f @ x, f @ p @ f.T + q
        if step % 4 != 3:  # every fourth frame without a measurement
            mean, cov = SortKalman.update(mean, cov, measured[None])
            gain = p @ h.T @ np.linalg.inv(h @ p @ h.T + r)
            x, p = x + gain @ (measured - h @ x), (np.eye(7) - gain @ h) @ p
        full = np.zeros((7, 7))
        full[range(4), range(4)] = cov[0, 0]
        full[[0, 1, 2], [4, 5, 6]] = full[[4, 5, 6], [0, 1, 2]] = cov[0, 1, :3]
        full[[4, 5, 6], [4, 5, 6]] = cov[0, 2, :3]
        assert mean[0, 7] == cov[0, 1, 3] == cov[0, 2, 3] == 0.0  # r has no velocity
        np.testing.assert_allclose(mean[0, :7], x, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(full, p, rtol=1e-9, atol=1e-9)
