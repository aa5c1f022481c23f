"""Per-stage timing: record stage durations per frame and aggregate them into a table."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from gstreamed.tables import text_table

STAGES = ("preprocess", "forward", "postprocess", "tracking", "annotation")
STAGE_LABELS = {
    "preprocess": "preprocess (frame → tensor)",
    "forward": "forward pass",
    "postprocess": "postprocess (decode + NMS)",
    "tracking": "tracking",
    "annotation": "annotation",
}


@dataclass(frozen=True)
class Stats:
    """Aggregate of one stage's durations, in milliseconds."""

    stage: str
    count: int
    avg_ms: float
    min_ms: float
    max_ms: float
    median_ms: float
    p90_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float], stage: str = "") -> Stats:
        """The statistics of durations given in seconds."""
        ms = np.asarray(seconds, np.float64) * 1000.0
        return cls(
            stage,
            len(ms),
            float(ms.mean()),
            float(ms.min()),
            float(ms.max()),
            float(np.median(ms)),
            float(np.percentile(ms, 90)),
        )

    def per(self, n: int) -> Stats:
        """The same statistics divided over ``n`` frames (for a batch of ``n``)."""
        return Stats(
            self.stage,
            self.count,
            self.avg_ms / n,
            self.min_ms / n,
            self.max_ms / n,
            self.median_ms / n,
            self.p90_ms / n,
        )

    @property
    def fps(self) -> float:
        """Frames per second at the median."""
        return 1000.0 / self.median_ms if self.median_ms > 0 else 0.0


SAMPLES_KEPT = 50_000  # per stage; beyond it a uniform sample (a run of days stays small)


class Series:
    """One stage's durations: the first (which pays for warm-up) apart, then the exact
    count, sum, minimum and maximum of the rest, and the rest themselves — in order up to
    `SAMPLES_KEPT`, then a uniform (reservoir) sample of them."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.count, self.total = 0, 0.0  # of the rest
        self.low, self.high = math.inf, -math.inf
        self.kept: list[float] = []
        self._random = random.Random(0)

    def add(self, seconds: float) -> None:
        if self.first is None:
            self.first = seconds
            return
        self.count += 1
        self.total += seconds
        self.low, self.high = min(self.low, seconds), max(self.high, seconds)
        if len(self.kept) < SAMPLES_KEPT:
            self.kept.append(seconds)
        elif (slot := self._random.randrange(self.count)) < SAMPLES_KEPT:
            self.kept[slot] = seconds

    def merge(self, other: Series) -> None:
        """Take in ``other``'s durations (its samples appended while there is room)."""
        if other.first is not None:
            self.add(other.first)
        self.count += other.count
        self.total += other.total
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        self.kept.extend(other.kept[: SAMPLES_KEPT - len(self.kept)])

    def ordered(self) -> list[float]:
        """Every duration in the order recorded (a sample of them past `SAMPLES_KEPT`)."""
        return ([self.first] if self.first is not None else []) + self.kept

    def stats(self, stage: str, skip_first: bool) -> Stats:
        """`Stats` of the durations; with ``skip_first`` (and more than one) without the
        first. Median and 90th percentile come from the kept samples."""
        assert self.first is not None
        count, total, low, high, kept = self.count, self.total, self.low, self.high, self.kept
        if not (skip_first and count):
            count, total = count + 1, total + self.first
            low, high, kept = min(low, self.first), max(high, self.first), [self.first, *kept]
        ms = np.asarray(kept, np.float64) * 1000.0
        return Stats(
            stage,
            count,
            total / count * 1000.0,
            low * 1000.0,
            high * 1000.0,
            float(np.median(ms)),
            float(np.percentile(ms, 90)),
        )


class Timings:
    """Stage durations, added per frame from any thread."""

    def __init__(self) -> None:
        self.series: dict[str, Series] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Series]:
        return self.series  # pickled (to and from Ray workers) without the lock

    def __setstate__(self, series: dict[str, Series]) -> None:
        self.series, self._lock = series, threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        """Record one frame's duration of ``stage``."""
        with self._lock:
            series = self.series.get(stage)
            if series is None:
                series = self.series[stage] = Series()
            series.add(seconds)

    def merge(self, other: Timings) -> None:
        """Take in the durations of ``other`` (another process's, say)."""
        with self._lock:
            for stage, series in other.series.items():
                self.series.setdefault(stage, Series()).merge(series)

    def values(self, stage: str) -> list[float]:
        """The durations of ``stage`` in the order recorded (a sample of them past
        `SAMPLES_KEPT`)."""
        series = self.series.get(stage)
        return series.ordered() if series is not None else []

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        """Time the body of a ``with`` block as one sample of ``stage``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def summary(self, skip_first: bool = True) -> list[Stats]:
        """One row per recorded stage, in pipeline order (the first frame, which pays for
        warm-up, left out when there are more)."""
        order = [s for s in STAGES if s in self.series]
        order += [s for s in self.series if s not in STAGES]
        return [self.series[stage].stats(stage, skip_first) for stage in order]


def timing_table(timings: Timings, frames: int, seconds: float, title: str = "Timings") -> str:
    """The seed-style table: stage avg/min/max in ms, then frames and end-to-end FPS."""
    rows = [
        (
            STAGE_LABELS.get(r.stage, r.stage),
            f"{r.avg_ms:.2f}",
            f"{r.min_ms:.2f}",
            f"{r.max_ms:.2f}",
        )
        for r in timings.summary()
    ]
    fps = frames / seconds if seconds > 0 else 0.0
    caption = f"{frames} frames in {seconds:.2f} s — end-to-end {fps:.2f} FPS"
    return text_table(("stage", "avg ms", "min ms", "max ms"), rows, title, caption)
