"""Synthetic tracking scenes with known ground truth, for tests and benchmarks.

Objects move at constant velocity (with a little jitter) through a frame, enter and leave,
and occlude each other by depth. A simulated detector reports each object with position
noise; an object mostly hidden behind a nearer one is missed or seen with a low score, as
real detectors do; some detections are missed at random and false positives appear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gstreamed.detect.detections import Detections


@dataclass
class Scene:
    """Per-frame detector output and ground truth (ids >= 1, xyxy boxes) of one sequence."""

    detections: list[Detections] = field(default_factory=list)
    gt_ids: list[np.ndarray] = field(default_factory=list)
    gt_boxes: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.detections)


@dataclass(frozen=True)
class SceneConfig:
    """Knobs of `make_scene`; the defaults give a moderately crowded pedestrian-like scene."""

    frames: int = 300
    objects: int = 30  # objects over the whole sequence
    width: float = 1920.0
    height: float = 1080.0
    size: tuple[float, float] = (40.0, 160.0)  # range of box heights; width = 0.4 x height
    speed: float = 4.0  # pixels per frame (std of each velocity component)
    noise: float = 0.03  # box position noise, fraction of the box height
    miss_rate: float = 0.05  # fraction of visible objects the detector misses
    fp_rate: float = 1.0  # mean false positives per frame
    occluded_low_score: float = 0.7  # of occluded objects, fraction seen with a low score
    occlusion: float = 0.5  # covered fraction from which an object counts as occluded
    seed: int = 0


def _coverage(boxes: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Fraction of each box covered by the largest overlap with a nearer box (approximation)."""
    n = len(boxes)
    if n < 2:
        return np.zeros(n)
    w = np.minimum(boxes[:, None, 2], boxes[None, :, 2]) - np.maximum(
        boxes[:, None, 0], boxes[None, :, 0]
    )
    h = np.minimum(boxes[:, None, 3], boxes[None, :, 3]) - np.maximum(
        boxes[:, None, 1], boxes[None, :, 1]
    )
    inter = np.maximum(w, 0) * np.maximum(h, 0)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    nearer = depth[None, :] < depth[:, None]
    return (np.where(nearer, inter, 0.0) / area[:, None]).max(axis=1)


def make_scene(config: SceneConfig = SceneConfig()) -> Scene:
    """A reproducible scene for ``config`` (same seed, same scene)."""
    c = config
    rng = np.random.default_rng(c.seed)
    n = c.objects
    start = rng.integers(0, max(1, c.frames * 2 // 3), n)
    start[: max(1, n // 3)] = 0  # a third is there from the start
    life = rng.integers(c.frames // 4, c.frames + 1, n)
    height = rng.uniform(*c.size, n)
    width = 0.4 * height
    pos = np.stack([rng.uniform(0, c.width - width), rng.uniform(0, c.height - height)], axis=1)
    vel = rng.normal(0.0, c.speed, (n, 2))
    depth = rng.permutation(n)  # lower = nearer the camera
    gt_ids, gt_boxes, depths = [], [], []
    for t in range(c.frames):
        vel += rng.normal(0.0, 0.05 * c.speed, (n, 2))
        pos += vel
        bounce = (pos[:, 0] < 0) | (pos[:, 0] + width > c.width)
        vel[bounce, 0] *= -1
        bounce = (pos[:, 1] < 0) | (pos[:, 1] + height > c.height)
        vel[bounce, 1] *= -1
        present = (start <= t) & (t < start + life)
        ids = np.flatnonzero(present)
        boxes = np.stack(
            [pos[ids, 0], pos[ids, 1], pos[ids, 0] + width[ids], pos[ids, 1] + height[ids]], axis=1
        )
        gt_ids.append(ids + 1)
        gt_boxes.append(boxes)
        depths.append(depth[ids])
    detections = simulate_detector(gt_boxes, depths, c, rng)
    return Scene(detections, gt_ids, gt_boxes)


def simulate_detector(
    gt_boxes: list[np.ndarray],
    depths: list[np.ndarray],
    config: SceneConfig,
    rng: np.random.Generator,
) -> list[Detections]:
    """Detector output for ground-truth boxes per frame (``depths``: lower = nearer).

    Uses the noise, miss, false-positive and occlusion knobs of ``config``.
    """
    c = config
    out = []
    for boxes, depth in zip(gt_boxes, depths, strict=True):
        occluded = _coverage(boxes, depth) >= c.occlusion
        score = rng.beta(8, 2, len(boxes)) * 0.45 + 0.5  # visible: 0.5 .. 0.95
        low = occluded & (rng.random(len(boxes)) < c.occluded_low_score)
        score[low] = rng.uniform(0.15, 0.45, low.sum())
        seen = (~occluded | low) & (rng.random(len(boxes)) >= c.miss_rate)
        heights = (boxes[seen, 3] - boxes[seen, 1])[:, None]
        det = boxes[seen] + rng.normal(0.0, 1.0, (seen.sum(), 4)) * c.noise * heights
        score = score[seen]
        fps = rng.poisson(c.fp_rate)
        if fps:
            fh = rng.uniform(*c.size, fps)
            fx, fy = rng.uniform(0, c.width, fps), rng.uniform(0, c.height, fps)
            det = np.concatenate([det, np.stack([fx, fy, fx + 0.4 * fh, fy + fh], axis=1)])
            score = np.concatenate([score, rng.uniform(0.2, 0.7, fps)])
        out.append(Detections(det, score, np.zeros(len(det))))
    return out
