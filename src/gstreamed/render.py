"""Draw detections (boxes, class names, confidences, track ids) in place on an RGB frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from gstreamed.detect.detections import NO_TRACK, Detections
from gstreamed.params import ParamSet, param

FONT = cv2.FONT_HERSHEY_SIMPLEX
# A fixed, high-contrast palette (Ultralytics' colours, RGB); indexed by track id or class id.
PALETTE = np.array(
    [
        (255, 56, 56),
        (255, 157, 151),
        (255, 112, 31),
        (255, 178, 29),
        (207, 210, 49),
        (72, 249, 10),
        (146, 204, 23),
        (61, 219, 134),
        (26, 147, 52),
        (0, 212, 187),
        (44, 153, 168),
        (0, 194, 255),
        (52, 69, 147),
        (100, 115, 255),
        (0, 24, 236),
        (132, 56, 255),
        (82, 0, 133),
        (203, 56, 255),
        (255, 149, 200),
        (255, 55, 199),
    ],
    dtype=np.uint8,
)


def label_of(detections: Detections, row: int, show_conf: bool = True) -> str:
    """The text drawn above a box: ``name 0.87 #12``."""
    parts = [detections.class_name(int(detections.class_id[row]))]
    if show_conf:
        parts.append(f"{float(detections.confidence[row]):.2f}")
    track = int(detections.track_id[row])
    if track != NO_TRACK:
        parts.append(f"#{track}")
    return " ".join(parts)


@dataclass(frozen=True, eq=False)
class DrawParams(ParamSet):
    """How boxes and labels are drawn."""

    OWNER: ClassVar[str] = "overlay"

    thickness: int = param(
        0, "box line width in pixels (0: from the frame size)", maximum=64, minimum=0
    )
    show_confidence: bool = param(True, "draw confidences in labels")


def draw(frame: np.ndarray, detections: Detections, params: DrawParams | None = None) -> np.ndarray:
    """Draw boxes and labels on an HxWx3 uint8 RGB frame in place and return it.

    Line width (unless ``params`` give one) and text size follow the frame size.
    """
    params = params or DrawParams()
    h, w = frame.shape[:2]
    thickness = params.thickness or max(1, round((h + w) / 2 * 0.003))
    font_scale = max(0.3, (h + w) / 2 * 0.0009)
    text_thickness = max(1, thickness - 1)
    for row in range(len(detections)):
        key = int(detections.track_id[row])
        if key == NO_TRACK:
            key = int(detections.class_id[row])
        color = tuple(int(c) for c in PALETTE[key % len(PALETTE)])
        x1, y1, x2, y2 = (round(float(v)) for v in detections.xyxy[row])
        cv2.rectangle(frame, (x1, y1), (x2, y2), color, thickness, cv2.LINE_8)
        text = label_of(detections, row, params.show_confidence)
        (tw, th), base = cv2.getTextSize(text, FONT, font_scale, text_thickness)
        top = y1 - th - base - 2 if y1 - th - base - 2 >= 0 else y1  # inside the box at the top
        left = max(0, min(x1, w - tw - 2))  # keep the label on the frame
        cv2.rectangle(frame, (left, top), (left + tw + 2, top + th + base + 2), color, cv2.FILLED)
        cv2.putText(
            frame,
            text,
            (left + 1, top + th + 1),
            FONT,
            font_scale,
            (255, 255, 255),
            text_thickness,
            cv2.LINE_AA,
        )
    return frame
