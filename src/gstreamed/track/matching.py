"""Box overlap and assignment helpers shared by the trackers."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` [N,4] with every box in ``b`` [M,4] (xyxy) -> [N,M] float64."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(w, 0.0) * np.maximum(h, 0.0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def associate(
    iou: np.ndarray, threshold: float, bonus: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """abewley/sort's association of detections (rows) to tracks (columns) -> (rows, cols).

    Pairs need IoU >= ``threshold``; when each detection and track has at most one pair
    above it those are the matches, else the assignment maximising IoU (+ ``bonus``, e.g.
    OC-SORT's direction consistency) is taken.
    """
    if iou.size == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    above = iou > threshold
    if above.sum(1).max() == 1 and above.sum(0).max() == 1:
        rows, cols = np.nonzero(above)
    else:
        rows, cols = linear_sum_assignment(iou if bonus is None else iou + bonus, maximize=True)
    keep = iou[rows, cols] >= threshold
    return rows[keep], cols[keep]


def assign_below(cost: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Min-cost matching where a pair is allowed only if its cost is below ``limit``.

    Same optimum as ``lap.lapjv(cost, extend_cost=True, cost_limit=limit)`` (ByteTrack):
    leaving a row and a column unmatched costs ``limit``, so the best matching maximises the
    sum of ``limit - cost`` over matched pairs. Returns (rows, cols) of the matched pairs.
    """
    if cost.size == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    gain = np.maximum(limit - cost, 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    keep = gain[rows, cols] > 0.0
    return rows[keep], cols[keep]


def grown(xyxy: np.ndarray, fraction: float) -> np.ndarray:
    """Boxes xyxy [N,4] grown on every side by ``fraction`` of their width and height."""
    size = xyxy[:, 2:] - xyxy[:, :2]
    return np.concatenate([xyxy[:, :2] - fraction * size, xyxy[:, 2:] + fraction * size], axis=1)


def buffered_iou(
    tracks: np.ndarray, gaps: np.ndarray, dets: np.ndarray, per_frame: float
) -> np.ndarray:
    """IoU [N, M] of track boxes [N, 4] and detection boxes [M, 4], both grown by
    ``per_frame`` of their size for each frame of a track's gap beyond the first (C-BIoU's
    buffered IoU: the longer a track went unseen, the further its object may have gone)."""
    if not per_frame:
        return iou_matrix(tracks, dets)
    extra = np.maximum(gaps - 1, 0)
    overlap = np.empty((len(tracks), len(dets)))
    for frames in np.unique(extra):  # each row once, the rows of one gap together
        rows = extra == frames
        grow = per_frame * frames
        overlap[rows] = iou_matrix(grown(tracks[rows], grow), grown(dets, grow))
    return overlap


def valid_boxes(xyxy: np.ndarray) -> np.ndarray:
    """Mask of boxes with finite coordinates and positive width and height."""
    return np.isfinite(xyxy).all(axis=1) & (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
