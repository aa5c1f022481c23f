"""OC-SORT on hand-worked sequences: recovery, re-update, low-score association."""

from __future__ import annotations

import numpy as np
import pytest
from track_helpers import box, frame, ids_per_object, occlusion, run, tracked

from gstreamed.errors import GstreamedError
from gstreamed.track import OcSortTracker, SortTracker, create_tracker
from gstreamed.track.kalman import SortKalman


def stops_behind_an_occluder() -> list:
    """Walks right at 10 px/frame, is hidden for 5 frames, and is found standing where it
    was last seen (while a constant-velocity prediction ran on 60 px)."""
    dets = [frame([box(10 + 10 * t, 50)]) for t in range(10)]  # last seen at x=100
    dets += [frame([]) for _ in range(5)]
    dets += [frame([box(100, 50)]) for _ in range(5)]
    return dets


def test_recovery_matches_the_last_observation() -> None:
    outputs = run(OcSortTracker(), stops_behind_an_occluder())
    assert {int(i) for o in outputs for i in o.track_id} == {1}
    assert [len(o) for o in outputs[15:]] == [0, 0, 1, 1, 1]  # min_hits again after a gap
    # SORT, as long-lived, loses it: its prediction has moved on
    sort_outputs = run(SortTracker(max_age=10), stops_behind_an_occluder())
    assert {int(i) for o in sort_outputs[15:] for i in o.track_id} != {1}


def test_re_update_runs_the_filter_over_the_interpolated_gap() -> None:
    dets = stops_behind_an_occluder()
    tracker = OcSortTracker(min_hits=1)
    found = [tracker.update(d) for d in dets[:16]][-1]  # frame 15: found again
    # By hand: track frames 0..9, predict into the gap (frame 10), then re-run from there
    # over boxes interpolated between the last observation (x=100) and the new one (x=100)
    # for frames 10..14, and update with the detection at frame 15.
    z = [SortKalman.measure(np.asarray([box(10 + 10 * t, 50)], float)) for t in range(10)]
    mean, cov = SortKalman.initiate(z[0])
    for t in range(1, 10):
        mean, cov = SortKalman.update(*SortKalman.predict(mean, cov), z[t])
    mean, cov = SortKalman.predict(mean, cov)
    for _ in range(5):  # the interpolated boxes all stand at x=100
        mean, cov = SortKalman.predict(*SortKalman.update(mean, cov, z[9]))
    mean, _ = SortKalman.update(mean, cov, z[9])
    np.testing.assert_allclose(found.xyxy, SortKalman.boxes(mean), atol=1e-3)
    assert found.track_id.tolist() == [1]


def test_low_scores_need_use_byte() -> None:
    dets, gt = occlusion()  # the back object is seen at 0.3 for 21 frames
    plain = ids_per_object(gt, run(OcSortTracker(), dets))
    assert len(plain[2]) < 60 - 15  # not reported while low
    byte = ids_per_object(gt, run(OcSortTracker(use_byte=True), dets))
    assert len(set(byte[2])) == 1 and len(byte[2]) == 60
    assert OcSortTracker(use_byte=True).min_score == 0.1 and OcSortTracker().min_score is None


def test_below_det_thresh_is_reported_untracked() -> None:
    tracker = OcSortTracker()
    for t in range(4):
        out = tracker.update(frame([box(10 + 5 * t, 50), box(300, 300)], [0.9, 0.5]))
    assert out.track_id.tolist() == [1, -1]
    np.testing.assert_array_equal(tracked(out).raw_xyxy, [box(25, 50)])


@pytest.mark.parametrize(
    "params", [{"delta_t": 0}, {"inertia": -1}, {"det_thresh": 2}, {"use_byte": "perhaps"}]
)
def test_rejects_bad_params(params: dict) -> None:
    with pytest.raises(GstreamedError):
        create_tracker("ocsort", **params)
