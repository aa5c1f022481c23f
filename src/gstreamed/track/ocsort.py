"""OC-SORT (Cao et al. 2023), vectorised: SORT made observation-centric.

Three additions to SORT (Kalman filter on [cx, cy, area, aspect], IoU + Hungarian):

* observation-centric re-update (ORU): a track found again after frames without a match
  re-runs its filter from the first missed frame over boxes interpolated between its last
  observation and the new one, instead of keeping the drift of blind prediction;
* observation-centric momentum (OCM): the first association adds to the IoU the
  consistency of each track's direction of motion (from the observation ``delta_t``
  frames back) with the direction towards each detection, weighted by ``inertia`` and the
  detection's score;
* observation-centric recovery (OCR): detections and tracks left over are matched once
  more by IoU with each track's last observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gstreamed.detect.detections import Detections
from gstreamed.params import param
from gstreamed.track.base import Tracker
from gstreamed.track.kalman import SortKalman
from gstreamed.track.matching import associate, iou_matrix, valid_boxes


def _centres(xyxy: np.ndarray) -> np.ndarray:
    return (xyxy[..., :2] + xyxy[..., 2:]) / 2


def _directions(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Unit vectors (dx, dy) from the centres of ``start`` boxes to those of ``end`` boxes
    (broadcasting); zero where the centres coincide."""
    d = _centres(end) - _centres(start)
    return d / (np.linalg.norm(d, axis=-1, keepdims=True) + 1e-6)


@dataclass(eq=False)
class OcSortTracker(Tracker):
    """OC-SORT: SORT with re-update, momentum and recovery from observations.

    Follows the published OCSort: detections above ``det_thresh`` are tracked, tracks are
    reported while matched with ``min_hits`` consecutive matches (or early in the stream)
    and dropped after ``max_age`` frames without a match; ``use_byte`` adds ByteTrack's
    association of low-score detections. Class-agnostic.
    """

    OWNER: ClassVar[str] = "ocsort"
    PREFIX: ClassVar[str] = "ocsort-"

    det_thresh: float = param(
        0.6, "detections above this score are tracked", minimum=0.0, maximum=1.0
    )
    max_age: int = param(30, "frames a track survives without a matching detection", minimum=0)
    min_hits: int = param(3, "consecutive matches before a track is reported", minimum=0)
    iou_threshold: float = param(
        0.3, "minimum IoU to match a detection to a track", minimum=0.0, maximum=1.0
    )
    delta_t: int = param(
        3, "frames back to the observation a track's direction is measured from", minimum=1
    )
    inertia: float = param(
        0.2, "weight of direction consistency in the first association", minimum=0.0
    )
    use_byte: bool = param(
        False, "also match unmatched tracks with low-score detections (as ByteTrack)"
    )
    low_thresh: float = param(
        0.1,
        "with use_byte: detections above this score (up to det_thresh) are the low-score ones",
        minimum=0.0,
        maximum=1.0,
    )

    @property
    def min_score(self) -> float | None:
        """With ``use_byte``, detections down to ``low_thresh`` are used."""
        return self.low_thresh if self.use_byte else None

    def reset(self) -> None:
        """Drop every track and restart ids at 1."""
        self._frame = 0
        self._next_id = 1
        k = self.delta_t
        self._mean, self._cov = SortKalman.empty()
        # The filter one frame after the last observation, where a re-update starts.
        self._saved_mean, self._saved_cov = SortKalman.empty()
        self._since_update = np.zeros(0, np.int64)  # detection frames without a match
        self._gap = np.zeros(0, np.int64)  # frames since the last observation
        self._streak = np.zeros(0, np.int64)
        self._age = np.zeros(0, np.int64)  # frames since the track started
        self._obs = np.zeros((0, k, 4))  # the last delta_t observations, oldest first
        self._obs_age = np.zeros((0, k), np.int64)  # their ages (-1: none)
        self._velocity = np.zeros((0, 2))  # unit direction of motion (dx, dy)
        self._ids = np.zeros(0, np.int64)  # 0 until first reported
        self._score = np.zeros(0, np.float32)
        self._class = np.zeros(0, np.int32)

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Detections:
        """Track one frame; returns every row, those of reported tracks with their ids
        (``frame`` is not used)."""
        self._frame += 1
        track_boxes = self._advance()
        self._streak[self._since_update > 0] = 0
        self._since_update += 1

        scores = detections.confidence.astype(np.float64)
        boxes = detections.xyxy.astype(np.float64)
        usable = valid_boxes(detections.xyxy)
        high = np.flatnonzero(usable & (scores > self.det_thresh))
        free_track = np.ones(len(self._ids), dtype=bool)
        match_track, match_det = [], []

        # First association: IoU + direction consistency (OCM).
        rows, cols = associate(
            iou_matrix(boxes[high], track_boxes),
            self.iou_threshold,
            self._momentum(boxes[high], scores[high]),
        )
        match_track.append(cols)
        match_det.append(high[rows])
        free_track[cols] = False
        left_high = np.delete(high, rows)

        if self.use_byte:  # unmatched tracks with low-score detections
            low = np.flatnonzero(usable & (scores > self.low_thresh) & (scores <= self.det_thresh))
            left = np.flatnonzero(free_track)
            rows, cols = associate(iou_matrix(boxes[low], track_boxes[left]), self.iou_threshold)
            match_track.append(left[cols])
            match_det.append(low[rows])
            free_track[left[cols]] = False

        # Recovery (OCR): leftovers by IoU with the tracks' last observations.
        left = np.flatnonzero(free_track)
        rows, cols = associate(
            iou_matrix(boxes[left_high], self._obs[left, -1]), self.iou_threshold
        )
        match_track.append(left[cols])
        match_det.append(left_high[rows])
        starters = np.delete(left_high, rows)

        tracks, dets = np.concatenate(match_track), np.concatenate(match_det)
        matched_det = np.full(len(self._ids), -1, np.int64)
        if len(tracks):
            self._correct(tracks, boxes[dets])
            self._score[tracks] = detections.confidence[dets]
            self._class[tracks] = detections.class_id[dets]
            matched_det[tracks] = dets
        if len(starters):
            self._start(boxes[starters], detections, starters)
            matched_det = np.concatenate([matched_det, starters])

        report = self._reported()
        self._name_reported(self._ids, report)
        out_rows, out_ids = matched_det[report], self._ids[report]
        out_boxes = SortKalman.boxes(self._mean[report])
        alive = self._since_update <= self.max_age
        if not alive.all():
            self._keep(alive)
        return self._result(detections, out_rows, out_ids, out_boxes)

    def predict(self) -> Detections:
        """Move every track one frame; returns the reported tracks' predicted boxes."""
        boxes = self._advance()
        shown = self._reported()
        return self._predicted(
            boxes[shown], self._ids[shown], self._score[shown], self._class[shown]
        )

    def _advance(self) -> np.ndarray:
        """Kalman-predict every track one frame (dropping tracks whose box became
        undefined), keeping the filter of the first frame after each last observation;
        returns the predicted boxes."""
        if not len(self._ids):
            return np.zeros((0, 4))
        self._mean, self._cov = SortKalman.predict(self._mean, self._cov)
        self._age += 1
        self._gap += 1
        first = self._gap == 1
        self._saved_mean[first], self._saved_cov[first] = self._mean[first], self._cov[first]
        boxes = SortKalman.boxes(self._mean)
        finite = np.isfinite(boxes).all(axis=1)
        if not finite.all():
            self._keep(finite)
            boxes = boxes[finite]
        return boxes

    def _previous(self, tracks: np.ndarray) -> np.ndarray:
        """Each track's observation that its direction is measured from: the oldest of the
        last ``delta_t`` frames, else its last one."""
        ages = self._obs_age[tracks]
        recent = (ages >= 0) & (ages >= self._age[tracks, None] - self.delta_t)
        index = np.where(recent.any(axis=1), recent.argmax(axis=1), self.delta_t - 1)
        return self._obs[tracks, index]

    def _momentum(self, det_boxes: np.ndarray, det_scores: np.ndarray) -> np.ndarray:
        """OCM: [D, T] bonus for detections lying in the direction each track moves."""
        if not len(det_boxes) or not len(self._ids):
            return np.zeros((len(det_boxes), len(self._ids)))
        towards = _directions(self._previous(np.arange(len(self._ids)))[None], det_boxes[:, None])
        cos = np.clip((towards * self._velocity[None]).sum(axis=2), -1.0, 1.0)
        angle = (np.pi / 2 - np.arccos(cos)) / np.pi
        return self.inertia * angle * det_scores[:, None]

    def _correct(self, tracks: np.ndarray, det_boxes: np.ndarray) -> None:
        """Update matched tracks: direction, re-update over a gap (ORU), Kalman update."""
        self._velocity[tracks] = _directions(self._previous(tracks), det_boxes)
        for track, det_box in zip(tracks, det_boxes, strict=True):
            if self._gap[track] > 1:
                self._reupdate(int(track), det_box)
        self._mean[tracks], self._cov[tracks] = SortKalman.update(
            self._mean[tracks], self._cov[tracks], SortKalman.measure(det_boxes)
        )
        self._obs[tracks, :-1] = self._obs[tracks, 1:]
        self._obs_age[tracks, :-1] = self._obs_age[tracks, 1:]
        self._obs[tracks, -1] = det_boxes
        self._obs_age[tracks, -1] = self._age[tracks]
        self._gap[tracks] = 0
        self._since_update[tracks] = 0
        self._streak[tracks] += 1

    def _reupdate(self, track: int, det_box: np.ndarray) -> None:
        """ORU: re-run the filter from the first unobserved frame over boxes interpolated
        between the last observation and ``det_box``; ends predicted to this frame."""
        gap = int(self._gap[track])
        last = self._obs[track, -1]
        mean, cov = self._saved_mean[track : track + 1], self._saved_cov[track : track + 1]
        for step in range(1, gap):
            virtual = last + (det_box - last) * (step / gap)
            mean, cov = SortKalman.update(mean, cov, SortKalman.measure(virtual[None]))
            mean, cov = SortKalman.predict(mean, cov)
        self._mean[track], self._cov[track] = mean[0], cov[0]

    def _start(self, det_boxes: np.ndarray, detections: Detections, rows: np.ndarray) -> None:
        """New tracks at rows ``rows`` of ``detections`` (boxes ``det_boxes``)."""
        count = len(rows)
        mean, cov = SortKalman.initiate(SortKalman.measure(det_boxes))
        obs = np.zeros((count, self.delta_t, 4))
        obs[:, -1] = det_boxes
        obs_age = np.full((count, self.delta_t), -1, np.int64)
        obs_age[:, -1] = 0
        zeros = np.zeros(count, np.int64)
        self._mean, self._cov = np.concatenate([self._mean, mean]), np.concatenate([self._cov, cov])
        self._saved_mean = np.concatenate([self._saved_mean, mean])
        self._saved_cov = np.concatenate([self._saved_cov, cov])
        self._since_update = np.concatenate([self._since_update, zeros])
        self._gap = np.concatenate([self._gap, zeros])
        self._streak = np.concatenate([self._streak, zeros])
        self._age = np.concatenate([self._age, zeros])
        self._obs = np.concatenate([self._obs, obs])
        self._obs_age = np.concatenate([self._obs_age, obs_age])
        self._velocity = np.concatenate([self._velocity, np.zeros((count, 2))])
        self._ids = np.concatenate([self._ids, zeros])
        self._score = np.concatenate([self._score, detections.confidence[rows]])
        self._class = np.concatenate([self._class, detections.class_id[rows]])

    def _reported(self) -> np.ndarray:
        """Mask of the tracks reported this frame: matched, with enough hits (or early)."""
        return (self._since_update == 0) & (
            (self._streak >= self.min_hits) | (self._frame <= self.min_hits)
        )

    def _keep(self, mask: np.ndarray) -> None:
        for name in (
            "_mean", "_cov", "_saved_mean", "_saved_cov", "_since_update", "_gap", "_streak",
            "_age", "_obs", "_obs_age", "_velocity", "_ids", "_score", "_class",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name)[mask])
