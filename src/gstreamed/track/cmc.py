"""Camera motion between consecutive frames, as BoT-SORT's sparse-optical-flow GMC."""

from __future__ import annotations

import math

import cv2
import numpy as np

IDENTITY = np.eye(2, 3)


class CameraMotion:
    """Estimates the 2x3 affine (rotation, scale, translation) that maps the previous
    frame's pixels to this frame's: up to ``corners`` corners tracked by pyramidal
    Lucas-Kanade optical flow on a grey image shrunk by a whole factor to at most
    ``max_side`` pixels, affine fitted with RANSAC. (BoT-SORT halves the image and tracks
    up to 1000 corners: at 1080p that costs tens of milliseconds a frame on a CPU.)"""

    def __init__(self, max_side: int = 640, corners: int = 300) -> None:
        self.max_side, self.corners = max_side, corners
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame."""
        self._previous: np.ndarray | None = None
        self._points: np.ndarray | None = None

    def estimate(self, frame: np.ndarray, boxes: np.ndarray | None = None) -> np.ndarray:
        """The motion from the previous frame to ``frame`` (HxWx3 RGB or HxW grey); the
        identity for the first frame, a change of size, or too few tracked points.

        Corners inside ``boxes`` (xyxy, the detections: objects that move on their own)
        are not tracked from this frame on.
        """
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
        h, w = grey.shape
        scale = max(1, math.ceil(max(h, w) / self.max_side))
        if scale > 1:
            grey = cv2.resize(grey, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
        previous, points = self._previous, self._points
        self._previous = grey
        mask = None
        if boxes is not None and len(boxes):
            mask = np.full(grey.shape, 255, np.uint8)
            for x1, y1, x2, y2 in np.round(np.asarray(boxes) / scale).astype(int):
                mask[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)] = 0
        self._points = cv2.goodFeaturesToTrack(
            grey, maxCorners=self.corners, qualityLevel=0.01, minDistance=1, blockSize=3, mask=mask
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
        affine[:, 2] *= scale
        return affine
