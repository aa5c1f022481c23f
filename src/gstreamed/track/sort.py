"""SORT (Bewley et al. 2016), vectorised: one Kalman step for all tracks, IoU + Hungarian."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gstreamed.detect.detections import Detections
from gstreamed.params import param
from gstreamed.track.base import Tracker
from gstreamed.track.kalman import SortKalman
from gstreamed.track.matching import associate, iou_matrix, valid_boxes


@dataclass(eq=False)
class SortTracker(Tracker):
    """SORT: constant-velocity Kalman filter on [cx, cy, area, aspect] and IoU matching.

    Follows abewley/sort: a track is reported while it is matched in the current frame and
    has ``min_hits`` consecutive matches (or during the first ``min_hits`` frames), with its
    filtered box, and is dropped after ``max_age`` frames without a match. Class-agnostic.
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
        self._mean, self._cov = SortKalman.empty()
        self._since_update = np.zeros(0, dtype=np.int64)
        self._streak = np.zeros(0, dtype=np.int64)
        self._ids = np.zeros(0, dtype=np.int64)  # 0 until first reported
        self._score = np.zeros(0, dtype=np.float32)  # last matched detection's
        self._class = np.zeros(0, dtype=np.int32)

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Detections:
        """Track one frame; returns every row, those of reported tracks with their ids
        (``frame`` is not used)."""
        self._frame += 1
        track_boxes = self._advance()
        self._streak[self._since_update > 0] = 0
        self._since_update += 1

        det_rows = np.flatnonzero(valid_boxes(detections.xyxy))
        det_boxes = detections.xyxy[det_rows].astype(np.float64)
        measured = SortKalman.measure(det_boxes)
        rows, cols = associate(iou_matrix(det_boxes, track_boxes), self.iou_threshold)

        matched_det = np.full(len(self._ids), -1, dtype=np.int64)
        if len(cols):
            mean, cov = SortKalman.update(self._mean[cols], self._cov[cols], measured[rows])
            self._mean[cols], self._cov[cols] = mean, cov
            self._since_update[cols] = 0
            self._streak[cols] += 1
            matched_det[cols] = det_rows[rows]
            self._score[cols] = detections.confidence[det_rows[rows]]
            self._class[cols] = detections.class_id[det_rows[rows]]

        new = np.ones(len(det_rows), dtype=bool)
        new[rows] = False
        if new.any():
            mean, cov = SortKalman.initiate(measured[new])
            count = len(mean)
            self._mean = np.concatenate([self._mean, mean])
            self._cov = np.concatenate([self._cov, cov])
            self._since_update = np.concatenate([self._since_update, np.zeros(count, np.int64)])
            self._streak = np.concatenate([self._streak, np.zeros(count, np.int64)])
            self._ids = np.concatenate([self._ids, np.zeros(count, np.int64)])
            self._score = np.concatenate([self._score, detections.confidence[det_rows[new]]])
            self._class = np.concatenate([self._class, detections.class_id[det_rows[new]]])
            matched_det = np.concatenate([matched_det, det_rows[new]])

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
        undefined); returns the predicted boxes."""
        if not len(self._ids):
            return np.zeros((0, 4))
        self._mean, self._cov = SortKalman.predict(self._mean, self._cov)
        boxes = SortKalman.boxes(self._mean)
        if not np.isfinite(boxes).all():
            finite = np.isfinite(boxes).all(axis=1)
            self._keep(finite)
            boxes = boxes[finite]
        return boxes

    def _reported(self) -> np.ndarray:
        """Mask of the tracks reported this frame: matched, with enough hits (or early)."""
        return (self._since_update == 0) & (
            (self._streak >= self.min_hits) | (self._frame <= self.min_hits)
        )

    def _keep(self, mask: np.ndarray) -> None:
        self._mean, self._cov = self._mean[mask], self._cov[mask]
        self._since_update, self._streak = self._since_update[mask], self._streak[mask]
        self._ids, self._score, self._class = self._ids[mask], self._score[mask], self._class[mask]
