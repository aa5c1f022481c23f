"""SORT (Bewley et al. 2016), vectorised: one Kalman step for all tracks, IoU + Hungarian."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.optimize import linear_sum_assignment

from gstreamed.detect.detections import Detections
from gstreamed.params import param
from gstreamed.track.base import Tracker
from gstreamed.track.kalman import SortKalman
from gstreamed.track.matching import iou_matrix, valid_boxes


def _associate(iou: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """abewley/sort's association of detections (rows) to tracks (columns) -> (rows, cols)."""
    if iou.size == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    above = iou > threshold
    if above.sum(1).max() == 1 and above.sum(0).max() == 1:
        rows, cols = np.nonzero(above)
    else:
        rows, cols = linear_sum_assignment(iou, maximize=True)
    keep = iou[rows, cols] >= threshold
    return rows[keep], cols[keep]


@dataclass(eq=False)
class SortTracker(Tracker):
    """SORT: constant-velocity Kalman filter on [cx, cy, area, aspect] and IoU matching.

    Follows abewley/sort: a track is reported while it is matched in the current frame and
    has ``min_hits`` consecutive matches (or during the first ``min_hits`` frames), and is
    dropped after ``max_age`` frames without a match. Class-agnostic.
    """

    OWNER: ClassVar[str] = "sort"
    PREFIX: ClassVar[str] = "sort-"

    max_age: int = param(1, "frames a track survives without a matching detection", minimum=0)
    min_hits: int = param(3, "consecutive matches before a track is reported", minimum=0)
    iou_threshold: float = param(
        0.3, "minimum IoU to match a detection to a track", minimum=0.0, maximum=1.0
    )

    def reset(self) -> None:
        """Drop every track and restart ids at 1."""
        self._frame = 0
        self._next_id = 1
        self._mean = np.zeros((0, 7))
        self._cov = np.zeros((0, 7, 7))
        self._since_update = np.zeros(0, dtype=np.int64)
        self._streak = np.zeros(0, dtype=np.int64)
        self._ids = np.zeros(0, dtype=np.int64)  # 0 until first reported

    def update(self, detections: Detections) -> Detections:
        """Track one frame; returns the rows matched to a reported track, with track ids."""
        self._frame += 1
        if len(self._ids):
            self._mean, self._cov = SortKalman.predict(self._mean, self._cov)
            self._streak[self._since_update > 0] = 0
            self._since_update += 1
            track_boxes = SortKalman.boxes(self._mean)
            finite = np.isfinite(track_boxes).all(axis=1)
            if not finite.all():
                self._keep(finite)
                track_boxes = track_boxes[finite]
        else:
            track_boxes = np.zeros((0, 4))

        det_rows = np.flatnonzero(valid_boxes(detections.xyxy))
        det_boxes = detections.xyxy[det_rows].astype(np.float64)
        rows, cols = _associate(iou_matrix(det_boxes, track_boxes), self.iou_threshold)

        matched_det = np.full(len(self._ids), -1, dtype=np.int64)
        if len(cols):
            mean, cov = SortKalman.update(
                self._mean[cols], self._cov[cols], SortKalman.measure(det_boxes[rows])
            )
            self._mean[cols], self._cov[cols] = mean, cov
            self._since_update[cols] = 0
            self._streak[cols] += 1
            matched_det[cols] = det_rows[rows]

        new = np.ones(len(det_rows), dtype=bool)
        new[rows] = False
        if new.any():
            mean, cov = SortKalman.initiate(SortKalman.measure(det_boxes[new]))
            count = len(mean)
            self._mean = np.concatenate([self._mean, mean])
            self._cov = np.concatenate([self._cov, cov])
            self._since_update = np.concatenate([self._since_update, np.zeros(count, np.int64)])
            self._streak = np.concatenate([self._streak, np.zeros(count, np.int64)])
            self._ids = np.concatenate([self._ids, np.zeros(count, np.int64)])
            matched_det = np.concatenate([matched_det, det_rows[new]])

        report = (self._since_update == 0) & (
            (self._streak >= self.min_hits) | (self._frame <= self.min_hits)
        )
        unnamed = report & (self._ids == 0)
        count = int(unnamed.sum())
        if count:
            self._ids[unnamed] = np.arange(self._next_id, self._next_id + count)
            self._next_id += count
        out_rows, out_ids = matched_det[report], self._ids[report]

        alive = self._since_update <= self.max_age
        if not alive.all():
            self._keep(alive)
        order = np.argsort(out_rows)
        return detections[out_rows[order]].with_track_ids(out_ids[order])

    def _keep(self, mask: np.ndarray) -> None:
        self._mean, self._cov = self._mean[mask], self._cov[mask]
        self._since_update, self._streak = self._since_update[mask], self._streak[mask]
        self._ids = self._ids[mask]
