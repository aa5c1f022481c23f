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
    """Feed every frame to the tracker; the tracked rows of its outputs, in order."""
    return [tracked(tracker.update(f)) for f in frames]


def tracked(detections: Detections) -> Detections:
    """The rows that carry a track id."""
    return detections[detections.track_id >= 0]


def crossing(
    frames: int = 40, speed: float = 10.0
) -> tuple[list[Detections], list[dict[int, list[float]]]]:
    """Two people walking towards each other at ``speed`` px/frame, overlapping heavily
    while they pass."""
    dets, gt = [], []
    for t in range(frames):
        a, b = box(10 + speed * t, 100), box(410 - speed * t, 120)
        dets.append(frame([a, b], [0.9, 0.8], [0, 1]))
        gt.append({1: a, 2: b})
    return dets, gt


def with_gap(
    first: int, last: int, frames: int = 50, conf: float | None = None
) -> tuple[list[Detections], list[dict[int, list[float]]]]:
    """One object moving right; frames first..last have no detection (or one at ``conf``)."""
    dets, gt = [], []
    for t in range(frames):
        b = box(10 + 5 * t, 50 + 2 * t)
        gt.append({1: b})
        if first <= t <= last:
            dets.append(frame([b], conf) if conf is not None else frame([]))
        else:
            dets.append(frame([b]))
    return dets, gt


def occlusion(
    frames: int = 60, hidden: tuple[int, int] = (30, 50), hidden_conf: float | None = 0.3
) -> tuple[list[Detections], list[dict[int, list[float]]]]:
    """A person walks behind a standing one; while hidden the detector sees it at
    ``hidden_conf`` (None: not at all)."""
    dets, gt = [], []
    for t in range(frames):
        front, back = box(300, 100, 60, 150), box(100 + 5 * t, 110, 50, 130)
        gt.append({1: front, 2: back})
        if hidden[0] <= t <= hidden[1]:
            if hidden_conf is None:
                dets.append(frame([front], [0.9]))
            else:
                dets.append(frame([front, back], [0.9, hidden_conf]))
        else:
            dets.append(frame([front, back], [0.9, 0.85]))
    return dets, gt


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


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random grey texture (uint8 HxWx3), with corners to track."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1), dtype=np.uint8)
    grey = np.kron(coarse, np.ones((8, 8), np.uint8))[:height, :width]
    return np.repeat(grey[:, :, None], 3, axis=2)


def camera_jump(
    frames: int = 20, jump_at: int = 10, jump: int = 30
) -> tuple[list[Detections], list[np.ndarray]]:
    """Two people standing still while the camera pans ``jump`` px right in one frame:
    the scene (a texture) and the people move ``jump`` px left in the image."""
    scene = texture(240 + 64, 320 + 128, seed=5)
    dets, images = [], []
    for t in range(frames):
        shift = jump if t >= jump_at else 0
        images.append(np.ascontiguousarray(scene[32:272, 64 + shift : 384 + shift]))
        dets.append(frame([box(100 - shift, 60), box(220 - shift, 80)]))
    return dets, images
