"""Per-stage timing: record stage durations per frame and aggregate them into a table."""

from __future__ import annotations

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


class Timings:
    """Stage durations, appended per frame from any thread (list.append is atomic)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def add(self, stage: str, seconds: float) -> None:
        """Record one frame's duration of ``stage``."""
        self.samples.setdefault(stage, []).append(seconds)

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
        order = [s for s in STAGES if s in self.samples]
        order += [s for s in self.samples if s not in STAGES]
        rows = []
        for stage in order:
            values = self.samples[stage]
            rows.append(Stats.of(values[1:] if skip_first and len(values) > 1 else values, stage))
        return rows


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
