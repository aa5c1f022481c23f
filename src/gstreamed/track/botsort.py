"""A BoT-SORT-class tracker without re-identification (Aharon et al. 2022)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gstreamed.params import param, redefault
from gstreamed.track.bytetrack import ByteTracker
from gstreamed.track.cmc import CameraMotion
from gstreamed.track.kalman import XywhKalman


@dataclass(eq=False)
class BotSortTracker(ByteTracker):
    """BoT-SORT without ReID: ByteTrack's two associations on a Kalman filter of
    [cx, cy, w, h] (boxes keep their own width and height, noise scaled by both), plus
    camera-motion compensation: given the frames, each frame's camera motion (sparse
    optical flow) moves every track before the association. BoT-SORT's thresholds; lost
    tracks also take part in the low-score association (``lost_in_low``), overlapping
    tracks consider low-score detections in the first association (``crowd_iou``), briefly
    lost tracks are recovered by their last seen box (``recovery_iou``), and the filter's
    process noise trusts motion more than BoT-SORT's (see `XywhKalman`).
    """

    OWNER: ClassVar[str] = "botsort"
    PREFIX: ClassVar[str] = "botsort-"
    KALMAN: ClassVar[type[XywhKalman]] = XywhKalman

    track_thresh: float = redefault(ByteTracker, "track_thresh", 0.6)
    new_track_thresh: float = redefault(ByteTracker, "new_track_thresh", 0.7)
    lost_in_low: bool = redefault(ByteTracker, "lost_in_low", True)
    crowd_iou: float = redefault(ByteTracker, "crowd_iou", 0.3)
    recovery_iou: float = redefault(ByteTracker, "recovery_iou", 0.3)
    cmc: bool = param(True, "compensate camera motion, estimated from the frames when given")

    def reset(self) -> None:
        """Drop every track and restart ids at 1."""
        super().reset()
        self._camera = CameraMotion()

    @property
    def uses_frames(self) -> bool:
        return self.cmc

    def _compensate(self, frame: np.ndarray, boxes: np.ndarray) -> None:
        if not self.cmc:
            return
        affine = self._camera.estimate(frame, boxes)
        if len(self._mean) and not np.allclose(affine, np.eye(2, 3)):
            self._mean, self._cov = self.KALMAN.warp(self._mean, self._cov, affine)
