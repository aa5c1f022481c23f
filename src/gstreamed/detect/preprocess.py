"""Letterbox preprocessing: frame → network tensor, and the exact inverse box mapping."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114  # Ultralytics' letterbox grey


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed into the network input: ``input = frame * scale + pad``."""

    scale: float
    pad_x: float
    pad_y: float
    frame_width: int
    frame_height: int

    @classmethod
    def fit(cls, frame_size: tuple[int, int], input_size: tuple[int, int]) -> Letterbox:
        """The aspect-preserving fit of a (height, width) frame into (height, width) input."""
        fh, fw = frame_size
        ih, iw = input_size
        scale = min(ih / fh, iw / fw)
        new_w, new_h = resized_size(fw, fh, scale)
        return cls(scale, (iw - new_w) // 2, (ih - new_h) // 2, fw, fh)

    def to_frame(self, xyxy: np.ndarray) -> np.ndarray:
        """Map boxes from input pixels back to frame pixels, clipped to the frame."""
        out = np.empty_like(xyxy, dtype=np.float32)
        out[:, 0::2] = (xyxy[:, 0::2] - self.pad_x) / self.scale
        out[:, 1::2] = (xyxy[:, 1::2] - self.pad_y) / self.scale
        np.clip(out[:, 0::2], 0, self.frame_width, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, self.frame_height, out=out[:, 1::2])
        return out


def resized_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The (width, height) of a frame scaled by ``scale``, at least one pixel each."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def as_rgb(frame: np.ndarray) -> np.ndarray:
    """An HxWx3 uint8 RGB view/copy of a grayscale, RGB or RGBA, 8- or 16-bit frame."""
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype != np.uint8:
        raise ValueError(f"unsupported frame dtype {frame.dtype}; expected uint8 or uint16")
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.ndim == 3 and frame.shape[2] == 1:
        return cv2.cvtColor(frame[:, :, 0], cv2.COLOR_GRAY2RGB)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    raise ValueError(f"unsupported frame shape {frame.shape}; expected HxW, HxWx3 or HxWx4")


class Preprocessor:
    """Letterboxes RGB frames into a reused float32 NCHW tensor in 0..1.

    The output buffer is allocated once per input size and overwritten on every call, so
    callers must consume the tensor before the next ``__call__``.
    """

    def __init__(self, input_size: tuple[int, int], batch: int = 1) -> None:
        self.input_size = input_size
        h, w = input_size
        self._canvas = np.full((h, w, 3), PAD_VALUE, np.uint8)
        self._tensor = np.empty((batch, 3, h, w), np.float32)
        self._placement: Letterbox | None = None

    def __call__(self, frame: np.ndarray, slot: int = 0) -> tuple[np.ndarray, Letterbox]:
        """Fill batch slot ``slot`` from ``frame``; returns the whole tensor and the mapping."""
        frame = as_rgb(frame)
        fh, fw = frame.shape[:2]
        box = self._placement
        if box is None or (box.frame_height, box.frame_width) != (fh, fw):
            box = Letterbox.fit((fh, fw), self.input_size)
            self._placement = box
            self._canvas[:] = PAD_VALUE
        new_w, new_h = resized_size(fw, fh, box.scale)
        x0, y0 = int(box.pad_x), int(box.pad_y)
        target = self._canvas[y0 : y0 + new_h, x0 : x0 + new_w]
        if (new_w, new_h) == (fw, fh):
            target[:] = frame
        else:
            target[:] = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        # HWC uint8 -> CHW float32 in 0..1, one pass into the reused tensor.
        np.multiply(
            self._canvas.transpose(2, 0, 1),
            np.float32(1 / 255),
            out=self._tensor[slot],
            casting="unsafe",
        )
        return self._tensor, box
