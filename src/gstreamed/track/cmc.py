"""Camera motion between consecutive frames, as BoT-SORT's sparse-optical-flow GMC."""

from __future__ import annotations

import cv2
import numpy as np

IDENTITY = np.eye(2, 3)


class CameraMotion:
    """Estimates the 2x3 affine (rotation, scale, translation) that maps the previous
    frame's pixels to this frame's: corners tracked by pyramidal Lucas-Kanade optical flow
    on a ``downscale``-times smaller grey image, affine fitted with RANSAC."""

    def __init__(self, downscale: int = 2) -> None:
        self.downscale = downscale
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame."""
        self._previous: np.ndarray | None = None
        self._points: np.ndarray | None = None

    def estimate(self, frame: np.ndarray) -> np.ndarray:
        """The motion from the previous frame to ``frame`` (HxWx3 RGB or HxW grey); the
        identity for the first frame, a change of size, or too few tracked points."""
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
        h, w = grey.shape
        grey = cv2.resize(grey, (w // self.downscale, h // self.downscale))
        previous, points = self._previous, self._points
        self._previous = grey
        self._points = cv2.goodFeaturesToTrack(
            grey, maxCorners=1000, qualityLevel=0.01, minDistance=1, blockSize=3
        )
        if previous is None or previous.shape != grey.shape or points is None:
            return IDENTITY.copy()
        moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, grey, points, np.empty_like(points))
        good = status.ravel() == 1
        if good.sum() < 5:
            return IDENTITY.copy()
        affine, _ = cv2.estimateAffinePartial2D(points[good], moved[good], method=cv2.RANSAC)
        if affine is None:
            return IDENTITY.copy()
        affine[:, 2] *= self.downscale
        return affine
