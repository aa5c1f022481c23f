"""Batched constant-velocity Kalman filters: one call predicts or updates every track.

State arrays are ``mean`` [T, D] and ``cov`` [T, D, D]; rows are tracks. Measurements are
the first four state components, so H = [I 0] and the update works on slices.
"""

from __future__ import annotations

import numpy as np

DIAG4 = np.arange(4)


def _transition(dim: int, moving: int) -> np.ndarray:
    """Constant-velocity transition: the first ``moving`` components gain their velocity."""
    f = np.eye(dim)
    f[np.arange(moving), 4 + np.arange(moving)] = 1.0
    return f


def _corners(cx: np.ndarray, cy: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Centre and size -> xyxy [K,4]."""
    out = np.empty((len(cx), 4))
    out[:, 0] = cx - w / 2
    out[:, 1] = cy - h / 2
    out[:, 2] = out[:, 0] + w
    out[:, 3] = out[:, 1] + h
    return out


F8 = _transition(8, 4)  # [cx, cy, a|w, h] and their velocities


def _initiate8(z: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-state tracks at measurements z [K,4], zero velocity, diagonal covariance std² [K,8]."""
    mean = np.zeros((len(z), 8))
    mean[:, :4] = z
    cov = np.zeros((len(z), 8, 8))
    cov[:, np.arange(8), np.arange(8)] = std**2
    return mean, cov


def _predict8(mean: np.ndarray, cov: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One constant-velocity step of 8-state tracks with process noise variances [K,8]."""
    mean = mean.copy()
    mean[:, :4] += mean[:, 4:]
    cov = F8 @ cov @ F8.T
    cov[:, np.arange(8), np.arange(8)] += var
    return mean, cov


def _update(
    mean: np.ndarray, cov: np.ndarray, z: np.ndarray, meas_var: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Kalman update of tracks (rows of mean/cov) with measurements z [K,4], noise var [K,4]
    (or [4] for all).

    While the measured components are uncorrelated (every filter here keeps them so: each
    one is coupled only with its own velocity), S is diagonal and the gain a division.
    """
    s = cov[:, :4, :4].copy()
    s[:, DIAG4, DIAG4] += meas_var
    variance = s[:, DIAG4, DIAG4]
    if np.count_nonzero(s) == np.count_nonzero(variance):  # diagonal
        gain = cov[:, :, :4] / variance[:, None, :]  # P H^T S^-1
    else:
        gain = np.linalg.solve(s, cov[:, :4, :]).transpose(0, 2, 1)  # S symmetric
    innovation = z - mean[:, :4]
    mean = mean + np.einsum("kij,kj->ki", gain, innovation)
    cov = cov - gain @ cov[:, :4, :]
    return mean, cov


class SortKalman:
    """abewley/sort's filter: state [cx, cy, s, r, vcx, vcy, vs], s = area, r = aspect w/h.

    Its covariance never couples a component with anything but its own velocity (P0, Q and
    R are diagonal, F adds each velocity to its component), so it is kept compactly as
    [T, 3, 4]: per measured component its variance, its covariance with its velocity and
    the velocity's variance. The mean is [T, 8] with a velocity of r that stays 0 (its
    variances do). Predict and update are then a few element-wise operations: the same
    numbers as with 7x7 matrices, twice as fast.
    """

    P0 = np.array([[10.0] * 4, [0.0] * 4, [1e4, 1e4, 1e4, 0.0]])
    Q = np.array([[1.0] * 4, [0.0] * 4, [0.01, 0.01, 0.0001, 0.0]])
    R = np.array([1.0, 1.0, 10.0, 10.0])
    F = _transition(8, 3)
    # F P F^T on the compact covariance, as a matrix acting on its 12 numbers: a component's
    # variance gains 2x its covariance with the velocity and the velocity's variance, that
    # covariance gains the velocity's variance.
    COV_STEP = np.kron([[1, 0, 0], [2, 1, 0], [1, 1, 1]], np.eye(4))

    @staticmethod
    def empty() -> tuple[np.ndarray, np.ndarray]:
        """Means and covariances of no tracks."""
        return np.zeros((0, 8)), np.zeros((0, 3, 4))

    @staticmethod
    def measure(xyxy: np.ndarray) -> np.ndarray:
        """xyxy [K,4] -> measurements [cx, cy, area, w/h]."""
        z = np.empty((len(xyxy), 4))
        w = xyxy[:, 2] - xyxy[:, 0]
        h = xyxy[:, 3] - xyxy[:, 1]
        z[:, 0] = xyxy[:, 0] + w / 2
        z[:, 1] = xyxy[:, 1] + h / 2
        z[:, 2] = w * h
        z[:, 3] = w / h
        return z

    @staticmethod
    def boxes(mean: np.ndarray) -> np.ndarray:
        """State means -> xyxy boxes (NaN where area * aspect < 0, as the original)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.sqrt(mean[:, 2] * mean[:, 3])
            h = mean[:, 2] / w
        return _corners(mean[:, 0], mean[:, 1], w, h)

    @classmethod
    def initiate(cls, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks at measurements z [K,4] with zero velocity."""
        mean = np.zeros((len(z), 8))
        mean[:, :4] = z
        return mean, np.repeat(cls.P0[None], len(z), axis=0)

    @classmethod
    def predict(cls, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step ahead; an area velocity that would make the area negative is zeroed."""
        shrinking = mean[:, 6] + mean[:, 2] <= 0
        if shrinking.any():
            mean = mean.copy()
            mean[shrinking, 6] = 0.0
        cov = (cov.reshape(-1, 12) @ cls.COV_STEP).reshape(-1, 3, 4) + cls.Q
        return mean @ cls.F.T, cov

    @classmethod
    def update(
        cls, mean: np.ndarray, cov: np.ndarray, z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Correct tracks with their measurements z [K,4]."""
        # Gains of each component and of its velocity: cov(., x) / (var(x) + R).
        gain = cov[:, :2] / (cov[:, 0] + cls.R)[:, None]
        mean = mean + (gain * (z - mean[:, :4])[:, None]).reshape(len(mean), 8)
        # P - K H P: each variance and covariance loses its gain times the covariance with x.
        return mean, cov - np.take(gain, [0, 0, 1], axis=1) * np.take(cov, [0, 1, 1], axis=1)


class XyahKalman:
    """ByteTrack's filter: state [cx, cy, a, h, vcx, vcy, va, vh], a = w/h; noise scales with h."""

    POS = 1.0 / 20
    VEL = 1.0 / 160
    LOST_STILL = (7,)  # velocity components a lost track stops (ByteTrack: the height's)
    # Standard deviations = height x *_STD_H + *_STD, per state (or measurement) component.
    INIT_STD_H = np.array([2 * POS, 2 * POS, 0, 2 * POS, 10 * VEL, 10 * VEL, 0, 10 * VEL])
    INIT_STD = np.array([0, 0, 1e-2, 0, 0, 0, 1e-5, 0])
    PROCESS_STD_H = np.array([POS, POS, 0, POS, VEL, VEL, 0, VEL])
    PROCESS_STD = np.array([0, 0, 1e-2, 0, 0, 0, 1e-5, 0])
    MEASURE_STD_H = np.array([POS, POS, 0, POS])
    MEASURE_STD = np.array([0, 0, 1e-1, 0])

    @staticmethod
    def measure(xyxy: np.ndarray) -> np.ndarray:
        """xyxy [K,4] -> measurements [cx, cy, w/h, h]."""
        z = np.empty((len(xyxy), 4))
        w = xyxy[:, 2] - xyxy[:, 0]
        z[:, 3] = xyxy[:, 3] - xyxy[:, 1]
        z[:, 0] = xyxy[:, 0] + w / 2
        z[:, 1] = xyxy[:, 1] + z[:, 3] / 2
        z[:, 2] = w / z[:, 3]
        return z

    @staticmethod
    def boxes(mean: np.ndarray) -> np.ndarray:
        """State means -> xyxy boxes."""
        return _corners(mean[:, 0], mean[:, 1], mean[:, 2] * mean[:, 3], mean[:, 3])

    @classmethod
    def initiate(cls, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks at measurements z [K,4] with zero velocity."""
        return _initiate8(z, np.multiply.outer(z[:, 3], cls.INIT_STD_H) + cls.INIT_STD)

    @classmethod
    def predict(cls, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step ahead with height-scaled process noise."""
        var = (np.multiply.outer(mean[:, 3], cls.PROCESS_STD_H) + cls.PROCESS_STD) ** 2
        return _predict8(mean, cov, var)

    @classmethod
    def update(
        cls, mean: np.ndarray, cov: np.ndarray, z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Correct tracks with their measurements z [K,4]."""
        var = (np.multiply.outer(mean[:, 3], cls.MEASURE_STD_H) + cls.MEASURE_STD) ** 2
        return _update(mean, cov, z, var)


class XywhKalman:
    """BoT-SORT's filter: state [cx, cy, w, h, vcx, vcy, vw, vh]; noise scales with w and h.

    BoT-SORT's standard deviations, but for the process noise: 0.3x its position and 2.5x
    its velocity term, so that position follows the velocity more and the velocity adapts
    faster (the ratio of Roboflow's corner filter). On the five shared MOT15 sequences this
    took IDF1 50.5 -> 52.5 and HOTA 39.0 -> 40.0, better on four of five sequences
    (benchmarks/tracking/mot15.py).
    """

    POS = 1.0 / 20
    VEL = 1.0 / 160
    LOST_STILL = (6, 7)  # a lost track keeps its size
    # Standard deviations = (w, h, w, h, ...) x these, per state (or measurement) component.
    INIT_STD = np.array([2 * POS] * 4 + [10 * VEL] * 4)
    PROCESS_STD = np.array([0.3 * POS] * 4 + [2.5 * VEL] * 4)
    MEASURE_STD = np.array([POS] * 4)

    @staticmethod
    def _std(wh: np.ndarray, factors: np.ndarray) -> np.ndarray:
        """[K, len(factors)]: factors x (w, h, w, h, ...) of each row of ``wh`` [K, 2]."""
        return np.tile(wh, len(factors) // 2) * factors

    @staticmethod
    def measure(xyxy: np.ndarray) -> np.ndarray:
        """xyxy [K,4] -> measurements [cx, cy, w, h]."""
        z = np.empty((len(xyxy), 4))
        z[:, 2:] = xyxy[:, 2:] - xyxy[:, :2]
        z[:, :2] = xyxy[:, :2] + z[:, 2:] / 2
        return z

    @staticmethod
    def boxes(mean: np.ndarray) -> np.ndarray:
        """State means -> xyxy boxes."""
        return _corners(mean[:, 0], mean[:, 1], mean[:, 2], mean[:, 3])

    @classmethod
    def initiate(cls, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks at measurements z [K,4] with zero velocity."""
        return _initiate8(z, cls._std(z[:, 2:4], cls.INIT_STD))

    @classmethod
    def predict(cls, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step ahead with size-scaled process noise."""
        return _predict8(mean, cov, cls._std(mean[:, 2:4], cls.PROCESS_STD) ** 2)

    @classmethod
    def update(
        cls, mean: np.ndarray, cov: np.ndarray, z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Correct tracks with their measurements z [K,4]."""
        return _update(mean, cov, z, cls._std(mean[:, 2:4], cls.MEASURE_STD) ** 2)

    @staticmethod
    def warp(
        mean: np.ndarray, cov: np.ndarray, affine: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Move tracks by a 2x3 image affine (camera motion), as BoT-SORT: its linear part
        acts on every (x, y)-like pair of the state, its translation on the centre."""
        big = np.kron(np.eye(4), affine[:, :2])
        mean = mean @ big.T
        mean[:, :2] += affine[:, 2]
        return mean, big @ cov @ big.T
