"""Batched constant-velocity Kalman filters: one call predicts or updates every track.

State arrays are ``mean`` [T, D] and ``cov`` [T, D, D]; rows are tracks. Measurements are
the first four state components, so H = [I 0] and the update works on slices.
"""

from __future__ import annotations

import numpy as np


def _transition(dim: int, moving: int) -> np.ndarray:
    """Constant-velocity transition: the first ``moving`` components gain their velocity."""
    f = np.eye(dim)
    f[np.arange(moving), 4 + np.arange(moving)] = 1.0
    return f


def _update(mean: np.ndarray, cov: np.ndarray, z: np.ndarray,
            meas_var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kalman update of tracks (rows of mean/cov) with measurements z [K,4], noise var [K,4]."""
    s = cov[:, :4, :4].copy()
    s[:, [0, 1, 2, 3], [0, 1, 2, 3]] += meas_var
    gain = np.linalg.solve(s, cov[:, :4, :]).transpose(0, 2, 1)  # P H^T S^-1, S symmetric
    innovation = z - mean[:, :4]
    mean = mean + np.einsum("kij,kj->ki", gain, innovation)
    cov = cov - gain @ cov[:, :4, :]
    return mean, cov


class SortKalman:
    """abewley/sort's filter: state [cx, cy, s, r, vcx, vcy, vs], s = area, r = aspect w/h."""

    F = _transition(7, 3)
    Q = np.diag([1.0, 1.0, 1.0, 1.0, 0.01, 0.01, 0.0001])
    R = np.array([1.0, 1.0, 10.0, 10.0])
    P0 = np.diag([10.0, 10.0, 10.0, 10.0, 1e4, 1e4, 1e4])

    @staticmethod
    def measure(xyxy: np.ndarray) -> np.ndarray:
        """xyxy [K,4] -> measurements [cx, cy, area, w/h]."""
        w = xyxy[:, 2] - xyxy[:, 0]
        h = xyxy[:, 3] - xyxy[:, 1]
        return np.stack([xyxy[:, 0] + w / 2, xyxy[:, 1] + h / 2, w * h, w / h], axis=1)

    @staticmethod
    def boxes(mean: np.ndarray) -> np.ndarray:
        """State means -> xyxy boxes (NaN where area * aspect < 0, as the original)."""
        with np.errstate(invalid="ignore"):
            w = np.sqrt(mean[:, 2] * mean[:, 3])
            h = mean[:, 2] / w
        cx, cy = mean[:, 0], mean[:, 1]
        return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)

    @classmethod
    def initiate(cls, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks at measurements z [K,4] with zero velocity."""
        mean = np.zeros((len(z), 7))
        mean[:, :4] = z
        return mean, np.broadcast_to(cls.P0, (len(z), 7, 7)).copy()

    @classmethod
    def predict(cls, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step ahead; an area velocity that would make the area negative is zeroed."""
        mean = mean.copy()
        mean[mean[:, 6] + mean[:, 2] <= 0, 6] = 0.0
        mean[:, :3] += mean[:, 4:7]
        return mean, cls.F @ cov @ cls.F.T + cls.Q

    @classmethod
    def update(cls, mean: np.ndarray, cov: np.ndarray,
               z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct tracks with their measurements z [K,4]."""
        return _update(mean, cov, z, np.broadcast_to(cls.R, z.shape))


class XyahKalman:
    """ByteTrack's filter: state [cx, cy, a, h, vcx, vcy, va, vh], a = w/h; noise scales with h."""

    F = _transition(8, 4)
    POS = 1.0 / 20
    VEL = 1.0 / 160

    @staticmethod
    def measure(xyxy: np.ndarray) -> np.ndarray:
        """xyxy [K,4] -> measurements [cx, cy, w/h, h]."""
        w = xyxy[:, 2] - xyxy[:, 0]
        h = xyxy[:, 3] - xyxy[:, 1]
        return np.stack([xyxy[:, 0] + w / 2, xyxy[:, 1] + h / 2, w / h, h], axis=1)

    @staticmethod
    def boxes(mean: np.ndarray) -> np.ndarray:
        """State means -> xyxy boxes."""
        h = mean[:, 3]
        w = mean[:, 2] * h
        cx, cy = mean[:, 0], mean[:, 1]
        return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)

    @classmethod
    def initiate(cls, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks at measurements z [K,4] with zero velocity."""
        h = z[:, 3]
        p, v = 2 * cls.POS * h, 10 * cls.VEL * h
        std = np.stack([p, p, np.full_like(h, 1e-2), p, v, v, np.full_like(h, 1e-5), v], axis=1)
        mean = np.zeros((len(z), 8))
        mean[:, :4] = z
        cov = np.zeros((len(z), 8, 8))
        cov[:, np.arange(8), np.arange(8)] = std ** 2
        return mean, cov

    @classmethod
    def predict(cls, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step ahead with height-scaled process noise."""
        h = mean[:, 3]
        p, v = cls.POS * h, cls.VEL * h
        var = np.stack([p, p, np.full_like(h, 1e-2), p, v, v, np.full_like(h, 1e-5), v],
                       axis=1) ** 2
        mean = mean.copy()
        mean[:, :4] += mean[:, 4:]
        cov = cls.F @ cov @ cls.F.T
        cov[:, np.arange(8), np.arange(8)] += var
        return mean, cov

    @classmethod
    def update(cls, mean: np.ndarray, cov: np.ndarray,
               z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct tracks with their measurements z [K,4]."""
        h = mean[:, 3]
        p = cls.POS * h
        var = np.stack([p, p, np.full_like(h, 1e-1), p], axis=1) ** 2
        return _update(mean, cov, z, var)
