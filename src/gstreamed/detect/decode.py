"""Decode YOLO head outputs into boxes: layout detection, confidence filter, class-aware NMS.

Supported layouts (B = batch, C = classes, A = anchors, K = kept boxes):
  * ``v8``  — YOLOv8/YOLO11 ``[B, 4+C, A]``: cx, cy, w, h, then C sigmoid class scores;
  * ``v5``  — YOLOv5 ``[B, A, 5+C]``: cx, cy, w, h, objectness, then C class scores;
  * ``end2end`` — YOLOv10 / NMS-free exports ``[B, K, 6]``: x1, y1, x2, y2, score, class.
All vectorised; the only Python loop is over NMS survivors inside OpenCV's C++ NMS.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class RawBoxes:
    """Candidate boxes of one image in network-input pixels, before NMS."""

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray


def candidates(
    output: np.ndarray, layout: str, conf: float, classes: np.ndarray | None = None
) -> RawBoxes:
    """Boxes of one image's head output (batch dimension removed) scoring at least ``conf``.

    ``classes`` restricts to those class ids. Filtering happens before the class argmax so
    only surviving anchors pay for it.
    """
    if layout == "end2end":
        rows = output[output[:, 4] >= conf]
        xyxy, score, cls = rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int32)
    else:
        if layout == "v8":
            boxes, scores = output[:4], output[4:]  # [4, A], [C, A]
            if classes is not None:
                scores = scores[classes]
            best = scores.max(axis=0)
            keep = np.flatnonzero(best >= conf)
            cls = scores[:, keep].argmax(axis=0)
            cxcywh = boxes[:, keep].T
        else:  # v5: objectness times class score
            rows = output[output[:, 4] >= conf]
            scores = rows[:, 5:] * rows[:, 4:5]
            if classes is not None:
                scores = scores[:, classes]
            best = scores.max(axis=1) if len(rows) else np.zeros(0, np.float32)
            keep = np.flatnonzero(best >= conf)
            cls = scores[keep].argmax(axis=1)
            cxcywh = rows[keep, :4]
        score = best[keep]
        if classes is not None:
            cls = classes[cls]
        xyxy = np.empty((len(keep), 4), np.float32)
        half = cxcywh[:, 2:4] / 2
        xyxy[:, :2] = cxcywh[:, :2] - half
        xyxy[:, 2:] = cxcywh[:, :2] + half
    if classes is not None and layout == "end2end":
        mask = np.isin(cls, classes)
        xyxy, score, cls = xyxy[mask], score[mask], cls[mask]
    return RawBoxes(
        np.asarray(xyxy, np.float32), np.asarray(score, np.float32), np.asarray(cls, np.int32)
    )


def nms(raw: RawBoxes, iou: float, max_det: int, agnostic: bool = False) -> np.ndarray:
    """Indices kept by class-aware (or, with ``agnostic``, class-agnostic) NMS, best first,
    at most ``max_det``."""
    if len(raw.confidence) == 0:
        return np.zeros(0, np.int64)
    xywh = np.empty_like(raw.xyxy)
    xywh[:, :2] = raw.xyxy[:, :2]
    xywh[:, 2:] = raw.xyxy[:, 2:] - raw.xyxy[:, :2]
    # OpenCV's stubs declare sequences; it takes (and is given) numpy arrays.
    if agnostic:
        kept = cv2.dnn.NMSBoxes(xywh, raw.confidence, 0.0, iou)  # type: ignore[arg-type]
    else:
        kept = cv2.dnn.NMSBoxesBatched(xywh, raw.confidence, raw.class_id, 0.0, iou)  # type: ignore[arg-type]
    keep = np.asarray(kept, np.int64).reshape(-1)
    return keep[np.argsort(-raw.confidence[keep], kind="stable")][:max_det]
