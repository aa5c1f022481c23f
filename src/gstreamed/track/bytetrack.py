"""ByteTrack (Zhang et al. 2022), vectorised: all track state lives in numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gstreamed.detect.detections import Detections
from gstreamed.params import param
from gstreamed.track.base import Tracker
from gstreamed.track.kalman import XyahKalman, XywhKalman
from gstreamed.track.matching import assign_below, buffered_iou, iou_matrix, valid_boxes

TRACKED, LOST = 1, 2
DUPLICATE_IOU = 0.85  # ByteTrack's remove_duplicate_stracks: IoU distance < 0.15


@dataclass(eq=False)
class ByteTracker(Tracker):
    """ByteTrack: high-score detections first, then low-score ones rescue unmatched tracks.

    Follows the published BYTETracker: fused IoU x score cost for high-score detections,
    plain IoU for the second (low-score) association, one-frame "unconfirmed" tracks, lost
    tracks kept ``frame_rate / 30 * track_buffer`` frames, duplicate removal; active tracks
    are reported with their filtered box. Class-agnostic.
    """

    OWNER: ClassVar[str] = "bytetrack"
    PREFIX: ClassVar[str] = "bytetrack-"
    KALMAN: ClassVar[type[XyahKalman] | type[XywhKalman]] = XyahKalman

    track_thresh: float = param(
        0.5,
        "detections at or above this score take part in the first association",
        minimum=0.0,
        maximum=1.0,
    )
    low_thresh: float = param(
        0.1,
        "detections above this score (and below track_thresh) are the second "
        "association's low-score boxes",
        minimum=0.0,
        maximum=1.0,
    )
    new_track_thresh: float = param(
        0.6,
        "minimum score of an unmatched detection to start a new track",
        minimum=0.0,
        maximum=1.0,
    )
    match_thresh: float = param(
        0.8, "maximum cost (1 - IoU x score) of the first association", minimum=0.0, maximum=1.0
    )
    second_match_thresh: float = param(
        0.5, "maximum cost (1 - IoU) of the low-score association", minimum=0.0, maximum=1.0
    )
    unconfirmed_match_thresh: float = param(
        0.7, "maximum cost of matching a one-frame-old track", minimum=0.0, maximum=1.0
    )
    track_buffer: int = param(30, "frames (at 30 fps) a lost track is kept", minimum=0)
    frame_rate: float = param(30.0, "stream frame rate, scales track_buffer", minimum=1e-3)
    fuse_score: bool = param(
        True, "weight IoU by detection score in the first association (off = MOT20 mode)"
    )
    lost_in_low: bool = param(
        False,
        "lost tracks also take part in the low-score association (objects coming out of "
        "an occlusion are often seen with a low score first)",
    )
    crowd_iou: float = param(
        1.0,
        "tracks whose predicted box overlaps another track's by more than this IoU also "
        "consider the low-score detections in the first association (1 = off)",
        minimum=0.0,
        maximum=1.0,
    )
    recovery_iou: float = param(
        0.0,
        "a left-over high-score detection continues a track lost for at most "
        "recovery_frames when it overlaps the track's last seen box by more than this IoU "
        "(OC-SORT's observation-centric recovery; 0 = off)",
        minimum=0.0,
        maximum=1.0,
    )
    recovery_frames: int = param(
        5, "frames (at 30 fps) a lost track can be recovered by its last seen box", minimum=0
    )
    recovery_buffer: float = param(
        0.2,
        "in that recovery, both boxes are grown by this fraction of their size per frame "
        "the track was lost beyond the first (C-BIoU's buffered IoU: the object may have "
        "turned)",
        minimum=0.0,
    )
    gap_buffer: float = param(
        0.3,
        "after frames without detections (--detect-every), unconfirmed tracks are matched "
        "by the IoU of boxes grown by this fraction of their size per skipped frame",
        minimum=0.0,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.max_time_lost = int(self.frame_rate / 30.0 * self.track_buffer)
        self.max_recovery_gap = int(self.frame_rate / 30.0 * self.recovery_frames)

    @property
    def min_score(self) -> float:
        """Detections down to ``low_thresh`` take part in the second association."""
        return self.low_thresh

    def reset(self) -> None:
        """Drop every track and restart ids at 1."""
        self._frame = 0
        self._next_id = 1
        self._mean = np.zeros((0, 8))
        self._cov = np.zeros((0, 8, 8))
        self._state = np.zeros(0, dtype=np.int8)
        self._activated = np.zeros(0, dtype=bool)
        self._last_frame = np.zeros(0, dtype=np.int64)
        self._start_frame = np.zeros(0, dtype=np.int64)
        self._ids = np.zeros(0, dtype=np.int64)  # 0 until first reported
        self._score = np.zeros(0, dtype=np.float32)  # last matched detection's
        self._class = np.zeros(0, dtype=np.int32)
        self._seen = np.zeros((0, 4))  # last matched detection's box

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Detections:
        """Track one frame; returns every row, those of active tracks with their ids."""
        self._frame += 1
        now = self._frame
        scores = detections.confidence.astype(np.float64)
        usable = valid_boxes(detections.xyxy)
        high = np.flatnonzero(usable & (scores >= self.track_thresh))
        low = np.flatnonzero(usable & (scores > self.low_thresh) & (scores < self.track_thresh))
        boxes = detections.xyxy.astype(np.float64)

        state, activated = self._state, self._activated
        was_lost = state == LOST
        pool = self._advance()
        if frame is not None:
            self._compensate(frame, boxes[usable])
        unconfirmed = np.flatnonzero((state == TRACKED) & ~activated)
        track_boxes = self.KALMAN.boxes(self._mean)
        iou = iou_matrix(track_boxes, boxes)  # every track x every detection
        self._buffer_skipped(iou, unconfirmed, track_boxes, boxes)

        match_track: list[np.ndarray] = []
        match_det: list[np.ndarray] = []

        # First association: confirmed + lost tracks with high-score detections, and tracks
        # in a crowd also with the low-score ones. Where two objects overlap, the one behind
        # is often seen with a low score: matched apart, its track can take the front
        # object's box and leave the front track the low one (an identity swap).
        crowded = self._crowded(track_boxes[pool])
        joint = crowded.any()
        candidates = np.concatenate([high, low]) if joint else high
        cost = self._cost(iou, pool, candidates, scores, self.fuse_score)
        if joint:
            cost[~crowded, len(high) :] = np.inf
        rows, cols = assign_below(cost, self.match_thresh)
        match_track.append(pool[rows])
        match_det.append(candidates[cols])
        free_track = np.ones(len(pool), dtype=bool)
        free_track[rows] = False
        free_high = np.ones(len(high), dtype=bool)
        if joint:
            low = np.delete(low, cols[cols >= len(high)] - len(high))
            cols = cols[cols < len(high)]
        free_high[cols] = False

        # Second association: still-tracked (with lost_in_low: and lost) tracks with
        # low-score detections.
        remaining = pool[free_track & ((state[pool] == TRACKED) | self.lost_in_low)]
        cost = self._cost(iou, remaining, low, scores, False)
        rows, cols = assign_below(cost, self.second_match_thresh)
        match_track.append(remaining[rows])
        match_det.append(low[cols])
        newly_lost = np.ones(len(remaining), dtype=bool)
        newly_lost[rows] = False
        state[remaining[newly_lost]] = LOST
        low = np.delete(low, cols)

        # Unconfirmed (one-frame-old) tracks with the high-score detections left over.
        high = high[free_high]
        cost = self._cost(iou, unconfirmed, high, scores, self.fuse_score)
        rows, cols = assign_below(cost, self.unconfirmed_match_thresh)
        match_track.append(unconfirmed[rows])
        match_det.append(high[cols])
        starters = np.delete(high, cols)
        starters = self._recover(starters, boxes, match_track, match_det)

        # After skipped frames (--detect-every), an unconfirmed track left without a match may
        # be confirmed by a low-score detection: one detection frame stands for several.
        confirmed_now = unconfirmed[rows]
        stale = np.delete(unconfirmed, rows)
        stale = stale[self._frame - self._last_frame[stale] > 1]
        if len(stale):
            cost = self._cost(iou, stale, low, scores, False)
            rows, cols = assign_below(cost, self.second_match_thresh)
            match_track.append(stale[rows])
            match_det.append(low[cols])
            confirmed_now = np.concatenate([confirmed_now, stale[rows]])
        removed = np.zeros(len(state), dtype=bool)
        removed[unconfirmed] = True
        removed[confirmed_now] = False

        tracks = np.concatenate(match_track)
        dets = np.concatenate(match_det)
        matched_det = np.full(len(state), -1, dtype=np.int64)
        if len(tracks):
            mean, cov = self.KALMAN.update(
                self._mean[tracks], self._cov[tracks], self.KALMAN.measure(boxes[dets])
            )
            self._mean[tracks], self._cov[tracks] = mean, cov
            state[tracks] = TRACKED
            activated[tracks] = True
            self._last_frame[tracks] = now
            matched_det[tracks] = dets
            self._seen[tracks] = boxes[dets]
            self._score[tracks] = detections.confidence[dets]
            self._class[tracks] = detections.class_id[dets]

        # Lost tracks (from before this frame) past their buffer are dropped.
        removed |= was_lost & (state == LOST) & (now - self._last_frame > self.max_time_lost)

        starters = starters[scores[starters] >= self.new_track_thresh]
        if len(starters):
            self._start(boxes[starters], detections, starters, now)
            matched_det = np.concatenate([matched_det, starters])
            removed = np.concatenate([removed, np.zeros(len(starters), dtype=bool)])

        removed |= self._duplicates(~removed)
        if removed.any():
            keep = ~removed
            self._keep(keep)
            matched_det = matched_det[keep]

        report = self._reported()
        self._name_reported(self._ids, report)
        out_rows, out_ids = matched_det[report], self._ids[report]
        return self._result(detections, out_rows, out_ids, self.KALMAN.boxes(self._mean[report]))

    def predict(self) -> Detections:
        """Move every track one frame (a frame without detections: it counts towards lost
        tracks' buffer); returns the active ones' boxes."""
        self._frame += 1
        self._advance(unconfirmed=True)
        shown = self._reported()
        return self._predicted(
            self.KALMAN.boxes(self._mean[shown]),
            self._ids[shown],
            self._score[shown],
            self._class[shown],
        )

    def _advance(self, unconfirmed: bool = False) -> np.ndarray:
        """Kalman-predict the confirmed and lost tracks (lost ones without size velocity,
        as the originals) and, with ``unconfirmed``, the one-detection-old ones (skipped
        frames: their covariance grows, so their next match gives them a velocity); returns
        the confirmed and lost ones' indices, confirmed first."""
        lost = self._state == LOST
        confirmed = (self._state == TRACKED) & self._activated
        pool = np.concatenate([np.flatnonzero(confirmed), np.flatnonzero(lost)])
        moved = np.arange(len(self._state)) if unconfirmed else pool
        if len(moved):
            mean = self._mean[moved]
            mean[np.flatnonzero(lost[moved])[:, None], list(self.KALMAN.LOST_STILL)] = 0.0
            self._mean[moved], self._cov[moved] = self.KALMAN.predict(mean, self._cov[moved])
        return pool

    def _recover(
        self,
        starters: np.ndarray,
        boxes: np.ndarray,
        match_track: list[np.ndarray],
        match_det: list[np.ndarray],
    ) -> np.ndarray:
        """Match left-over high-score detections (``starters``, rows of ``boxes``) to tracks
        lost for at most ``max_recovery_gap`` frames by buffered IoU with their last seen
        box, appending the pairs; returns the starters left. A lost track's prediction may
        have drifted on a velocity learnt from a few noisy boxes, or the object turned; its
        last box has not moved."""
        if not self.recovery_iou or not len(starters):
            return starters
        lost = np.flatnonzero(
            (self._state == LOST) & (self._frame - self._last_frame <= self.max_recovery_gap)
        )
        lost = np.setdiff1d(lost, np.concatenate(match_track))
        gap = self._frame - self._last_frame[lost]
        overlap = buffered_iou(self._seen[lost], gap, boxes[starters], self.recovery_buffer)
        rows, cols = assign_below(1.0 - overlap, 1.0 - self.recovery_iou)
        match_track.append(lost[rows])
        match_det.append(starters[cols])
        return np.delete(starters, cols)

    def _crowded(self, boxes: np.ndarray) -> np.ndarray:
        """Mask of the boxes that overlap another one by more than ``crowd_iou``."""
        if self.crowd_iou >= 1.0 or len(boxes) < 2:
            return np.zeros(len(boxes), dtype=bool)
        overlap = iou_matrix(boxes, boxes)
        np.fill_diagonal(overlap, 0.0)
        return overlap.max(axis=1) > self.crowd_iou

    def _buffer_skipped(
        self, iou: np.ndarray, unconfirmed: np.ndarray, track_boxes: np.ndarray, boxes: np.ndarray
    ) -> None:
        """Replace the IoU of unconfirmed tracks last seen frames ago (skipped frames) by the
        IoU of boxes grown by ``gap_buffer`` per skipped frame (C-BIoU's buffered IoU): a
        track without a velocity yet cannot follow a fast object over the gap."""
        gap = self._frame - self._last_frame[unconfirmed]
        late = unconfirmed[gap > 1]
        if len(late):
            iou[late] = buffered_iou(track_boxes[late], gap[gap > 1], boxes, self.gap_buffer)

    def _compensate(self, frame: np.ndarray, boxes: np.ndarray) -> None:
        """Camera-motion compensation of every track before the association, from the
        frame and this frame's detection boxes (BoT-SORT)."""

    def _reported(self) -> np.ndarray:
        """Mask of the active (tracked and activated) tracks."""
        return (self._state == TRACKED) & self._activated

    @staticmethod
    def _cost(
        iou: np.ndarray, tracks: np.ndarray, dets: np.ndarray, scores: np.ndarray, fuse: bool
    ) -> np.ndarray:
        """1 - IoU, or 1 - IoU x detection score when ``fuse``, of the given tracks x dets."""
        sub = iou[tracks[:, None], dets[None, :]]
        return 1.0 - (sub * scores[dets][None, :] if fuse else sub)

    def _start(self, det_boxes: np.ndarray, dets: Detections, rows: np.ndarray, frame: int) -> None:
        """New tracks at rows ``rows`` of ``dets`` (boxes ``det_boxes``); only those born on
        the stream's first frame are reported at once."""
        count = len(rows)
        mean, cov = self.KALMAN.initiate(self.KALMAN.measure(det_boxes))
        self._mean = np.concatenate([self._mean, mean])
        self._cov = np.concatenate([self._cov, cov])
        self._state = np.concatenate([self._state, np.full(count, TRACKED, np.int8)])
        self._activated = np.concatenate([self._activated, np.full(count, frame == 1)])
        self._last_frame = np.concatenate([self._last_frame, np.full(count, frame, np.int64)])
        self._start_frame = np.concatenate([self._start_frame, np.full(count, frame, np.int64)])
        self._ids = np.concatenate([self._ids, np.zeros(count, np.int64)])
        self._score = np.concatenate([self._score, dets.confidence[rows]])
        self._class = np.concatenate([self._class, dets.class_id[rows]])
        self._seen = np.concatenate([self._seen, det_boxes])

    def _duplicates(self, alive: np.ndarray) -> np.ndarray:
        """Mask of the younger of each live tracked/lost pair that overlap almost entirely."""
        dup = np.zeros(len(self._state), dtype=bool)
        tracked = np.flatnonzero(alive & (self._state == TRACKED))
        lost = np.flatnonzero(alive & (self._state == LOST))
        if not len(tracked) or not len(lost):
            return dup
        boxes = self.KALMAN.boxes(self._mean)
        p, q = np.nonzero(iou_matrix(boxes[tracked], boxes[lost]) > DUPLICATE_IOU)
        if len(p):
            p, q = tracked[p], lost[q]
            age = self._last_frame - self._start_frame
            tracked_older = age[p] > age[q]
            dup[q[tracked_older]] = True
            dup[p[~tracked_older]] = True
        return dup

    def _keep(self, mask: np.ndarray) -> None:
        self._mean, self._cov = self._mean[mask], self._cov[mask]
        self._state, self._activated = self._state[mask], self._activated[mask]
        self._last_frame, self._start_frame = self._last_frame[mask], self._start_frame[mask]
        self._ids, self._score, self._class = self._ids[mask], self._score[mask], self._class[mask]
        self._seen = self._seen[mask]
