"""ByteTrack on hand-worked sequences: long gaps, low-score recovery, confirmation."""

from __future__ import annotations

import numpy as np
import pytest
from track_helpers import box, frame, ids_per_object, occlusion, run, tracked, with_gap

from gstreamed.detect.detections import Detections
from gstreamed.errors import GstreamedError
from gstreamed.track import BotSortTracker, ByteTracker, create_tracker


def test_survives_long_gap() -> None:
    dets, gt = with_gap(10, 29)  # 20 frames without detections, within track_buffer=30
    seen = ids_per_object(gt, run(ByteTracker(), dets))[1]
    assert set(seen) == {1}
    assert len(seen) == 50 - 20


def test_drops_track_after_buffer() -> None:
    dets, gt = with_gap(5, 20, frames=30)
    seen = ids_per_object(gt, run(ByteTracker(track_buffer=10), dets))[1]
    assert len(set(seen)) == 2


def test_frame_rate_scales_buffer() -> None:
    dets, gt = with_gap(5, 20, frames=30)  # 16 missing frames
    tracker = ByteTracker(track_buffer=10, frame_rate=60)
    assert len(set(ids_per_object(gt, run(tracker, dets))[1])) == 1


def test_keeps_low_confidence_detections_of_a_tracked_object() -> None:
    dets, _gt = with_gap(10, 19, conf=0.3)  # seen only with low score for 10 frames
    outputs = run(ByteTracker(), dets)
    assert [len(o) for o in outputs] == [1] * 50
    assert {int(o.track_id[0]) for o in outputs} == {1}
    assert all(abs(float(o.confidence[0]) - 0.3) < 1e-6 for o in outputs[10:20])
    assert abs(float(outputs[25].confidence[0]) - 0.9) < 1e-6


def test_low_confidence_alone_starts_nothing() -> None:
    tracker = ByteTracker()
    for _ in range(10):
        out = tracker.update(frame([box(10, 10)], 0.4))
        assert out.track_id.tolist() == [-1]  # reported, but never tracked
    assert run(ByteTracker(), [frame([box(10, 10)], 0.55)])[0].track_id.tolist() == []


def test_confirms_after_second_frame() -> None:
    tracker = ByteTracker()
    assert tracker.update(frame([box(10, 10)])).track_id.tolist() == [1]  # first frame
    assert tracker.update(frame([box(12, 10), box(300, 300)])).track_id.tolist() == [1, -1]
    out = tracker.update(frame([box(14, 10), box(302, 300)]))
    assert out.track_id.tolist() == [1, 2]
    # a one-frame false positive never gets an id
    out = tracker.update(frame([box(16, 10), box(304, 300), box(700, 50)]))
    assert out.track_id.tolist() == [1, 2, -1]


def test_occlusion_with_low_scores_keeps_the_identity() -> None:
    dets, gt = occlusion()
    ids = ids_per_object(gt, run(ByteTracker(), dets))
    assert set(ids[1]) == {1} and len(set(ids[2])) == 1
    assert len(ids[2]) == 60


def test_min_score_is_the_low_threshold() -> None:
    assert ByteTracker(low_thresh=0.2).min_score == 0.2


def test_predict_keeps_ids_and_moves_boxes() -> None:
    tracker = ByteTracker()
    for t in range(5):
        tracker.update(frame([box(10 + 10 * t, 50), box(400, 300)]))
    predicted = tracker.predict()
    assert predicted.track_id.tolist() == [1, 2]
    assert 55 < predicted.xyxy[0, 0] < 65 and abs(predicted.xyxy[1, 0] - 400) < 1
    np.testing.assert_array_equal(predicted.raw_xyxy, predicted.xyxy)  # no detection there
    out = tracker.update(frame([box(70, 50), box(400, 300)]))
    assert tracked(out).track_id.tolist() == [1, 2]


def test_params_convert_strings() -> None:
    tracker = create_tracker("bytetrack", track_buffer="60", frame_rate="25", fuse_score="false")
    assert tracker.track_buffer == 60 and tracker.max_time_lost == 50
    assert tracker.fuse_score is False


@pytest.mark.parametrize(
    "params",
    [
        {"track_buffer": -3},
        {"frame_rate": 0},
        {"match_thresh": float("nan")},
        {"fuse_score": "maybe"},
        {"box": "centre"},
    ],
)
def test_rejects_bad_params(params: dict) -> None:
    with pytest.raises(GstreamedError):
        create_tracker("bytetrack", **params)


def test_lost_in_low_recovers_a_lost_track_from_low_scores() -> None:
    """Missed for 3 frames, then seen at 0.3 for 8 (coming out of an occlusion), then at
    0.9: only with lost_in_low do the low-score frames get the track back."""
    dets, _gt = with_gap(10, 12, frames=30)
    low, _ = with_gap(13, 20, frames=30, conf=0.3)
    dets[13:21] = low[13:21]
    plain = ByteTracker().update
    eager = ByteTracker(lost_in_low=True).update
    plain_ids = [d.track_id.tolist() for d in map(plain, dets)]
    eager_ids = [d.track_id.tolist() for d in map(eager, dets)]
    assert plain_ids[13:21] == [[-1]] * 8 and plain_ids[21:] == [[1]] * 9
    assert eager_ids[13:] == [[1]] * 17
    assert create_tracker("botsort").lost_in_low and not create_tracker("bytetrack").lost_in_low


def _every_third(tracker: ByteTracker, dets: list[Detections]) -> list[int]:
    """Detections on every third frame, predictions between (--detect-every 3); the ids
    reported on each frame."""
    ids: list[int] = []
    for t, dets_now in enumerate(dets):
        out = tracker.update(dets_now) if t % 3 == 0 else tracker.predict()
        ids.extend(tracked(out).track_id.tolist())
    return ids


@pytest.mark.parametrize("cls", [ByteTracker, BotSortTracker])
def test_a_fast_new_object_is_confirmed_across_skipped_frames(cls: type[ByteTracker]) -> None:
    # 10 px a frame: 30 px between detection frames; a 40 px box without a velocity yet
    # overlaps its next detection by IoU 0.14 only, the buffered boxes by 0.49.
    dets = [frame([])] * 3 + [frame([box(10 + 10 * t, 50, w=40, h=40)]) for t in range(30)]
    assert set(_every_third(cls(), dets)) == {1}
    assert _every_third(cls(gap_buffer=0.0), dets) == []  # never confirmed: a new track each time
    assert set(ids for ids in run(cls(), dets) for ids in ids.track_id.tolist()) == {1}


def test_a_low_score_detection_confirms_a_track_after_skipped_frames() -> None:
    # Seen once at 0.9, then only at 0.4: each detection frame stands for three frames.
    dets = [frame([])] * 3 + [frame([box(100, 50)], conf=0.9 if t == 0 else 0.4) for t in range(15)]
    assert set(_every_third(ByteTracker(), dets)) == {1}
    assert run(ByteTracker(), dets)[-1].track_id.tolist() == []  # every frame: ByteTrack's rule


def test_skipped_frames_count_towards_the_lost_buffer() -> None:
    # track_buffer 30 at 30 fps: a track unseen for 30 frames is dropped, skipped ones included.
    def seen_again_after(gap: int) -> list[int]:
        tracker = ByteTracker()
        for _ in range(6):
            tracker.update(frame([box(100, 50)]))
        for t in range(gap - 1):
            tracker.update(frame([])) if t % 3 == 0 else tracker.predict()
        return tracked(tracker.update(frame([box(100, 50)]))).track_id.tolist()

    assert seen_again_after(24) == [1]
    assert seen_again_after(36) != [1]


@pytest.mark.parametrize("crowd_iou", [0.3, 1.0])
def test_overlapping_objects_are_matched_jointly_in_a_crowd(crowd_iou: float) -> None:
    # A (front) and B (behind) overlap (IoU 0.45). Then B is seen at 0.3 only and A's box
    # comes out shifted towards B: alone, the high-score box fits B's track better.
    a, b = box(100, 50), box(115, 50)
    dets = [frame([a, b]) for _ in range(10)]
    dets.append(frame([box(108, 50), b], conf=[0.9, 0.3]))
    out = run(ByteTracker(crowd_iou=crowd_iou), dets)[-1]
    ids_by_x = dict(zip(out.raw_xyxy[:, 0].tolist(), out.track_id.tolist(), strict=True))
    if crowd_iou < 1.0:  # one assignment of both boxes: each track keeps its object
        assert ids_by_x == {108.0: 1, 115.0: 2}
    else:  # ByteTrack's order: B's track takes A's box, A's track finds nothing
        assert ids_by_x == {108.0: 2}


@pytest.mark.parametrize(("cls", "gap", "recovered"), [
    (BotSortTracker, 4, True),  # BoT-SORT: recovery_iou 0.3
    (BotSortTracker, 6, False),  # lost longer than recovery_frames (5)
    (ByteTracker, 4, False),  # ByteTrack: off, as the original
])  # fmt: skip
def test_a_track_lost_briefly_is_recovered_by_its_last_seen_box(
    cls: type[ByteTracker], gap: int, recovered: bool
) -> None:
    # Moving 8 px a frame, then hidden and seen again where it stopped: the prediction has
    # run 30 px and more ahead of a 40 px box, the last seen box is where it reappears.
    dets = [frame([])] + [frame([box(100 + 8 * t, 50)]) for t in range(10)]
    dets += [frame([])] * gap + [frame([box(172, 50)])] * 3
    ids = [o.track_id.tolist() for o in run(cls(), dets)[-3:]]
    assert ids == ([[1]] * 3 if recovered else [[], [2], [2]])


@pytest.mark.parametrize(("buffer", "recovered"), [(0.2, True), (0.0, False)])
def test_a_track_whose_object_turned_while_lost_is_recovered_by_buffered_boxes(
    buffer: float, recovered: bool
) -> None:
    # Moving right 8 px a frame, hidden for two frames, back 24 px left of where it was last
    # seen (it turned, as at the edge of the picture): IoU with the last seen box 0.25, of
    # the boxes grown by 0.2 x 2 of their size 0.5; the prediction ran the other way.
    dets = [frame([])] + [frame([box(100 + 8 * t, 50)]) for t in range(10)]
    dets += [frame([])] * 2 + [frame([box(148 - 8 * t, 50)]) for t in range(3)]
    ids = [o.track_id.tolist() for o in run(BotSortTracker(recovery_buffer=buffer), dets)[-3:]]
    assert ids == ([[1]] * 3 if recovered else [[], [2], [2]])
