"""Helpers for the tracking tests: scripted scenes and per-object id bookkeeping."""

from __future__ import annotations

import numpy as np

from gstreamed.detect.detections import Detections
from gstreamed.track.matching import iou_matrix


def box(x: float, y: float, w: float = 40.0, h: float = 100.0) -> list[float]:
    """An xyxy box from its top-left corner and size."""
    return [x, y, x + w, y + h]


def frame(
    boxes: list[list[float]], conf: list[float] | float = 0.9, cls: list[int] | int = 0
) -> Detections:
    """One frame of detections."""
    n = len(boxes)
    conf_arr = np.broadcast_to(np.asarray(conf, np.float32), (n,))
    cls_arr = np.broadcast_to(np.asarray(cls, np.int32), (n,))
    return Detections(
        np.asarray(boxes, np.float32).reshape(-1, 4), conf_arr, cls_arr, names=("person", "car")
    )


def run(tracker, frames: list[Detections]) -> list[Detections]:
    """Feed every frame to the tracker; the outputs in order."""
    return [tracker.update(f) for f in frames]


def ids_per_object(
    gt: list[dict[int, list[float]]], outputs: list[Detections], min_iou: float = 0.5
) -> dict[int, list[int]]:
    """For each ground-truth object, the track ids of the outputs matching it, frame by frame."""
    seen: dict[int, list[int]] = {}
    for objects, out in zip(gt, outputs, strict=True):
        if not objects:
            continue
        ids = list(objects)
        iou = iou_matrix(np.asarray([objects[i] for i in ids]), out.xyxy)
        for row, obj in enumerate(ids):
            if iou.shape[1] and iou[row].max() >= min_iou:
                seen.setdefault(obj, []).append(int(out.track_id[int(iou[row].argmax())]))
    return seen


def switches(gt: list[dict[int, list[float]]], outputs: list[Detections]) -> int:
    """Id switches: consecutive matches of one object that carry different track ids."""
    return sum(int(np.count_nonzero(np.diff(ids))) for ids in ids_per_object(gt, outputs).values())
