"""Per-stage timing: record stage durations per frame and aggregate them into a table."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

STAGES = ("preprocess", "forward", "postprocess", "tracking", "annotation")
STAGE_LABELS = {
    "preprocess": "preprocess (frame → tensor)",
    "forward": "forward pass",
    "postprocess": "postprocess (decode + NMS)",
    "tracking": "tracking",
    "annotation": "annotation",
}


@dataclass(frozen=True)
class StageSummary:
    """Aggregate of one stage in milliseconds (first frame excluded when there are more)."""

    stage: str
    count: int
    avg_ms: float
    min_ms: float
    max_ms: float
    median_ms: float
    p90_ms: float


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

    def summary(self, skip_first: bool = True) -> list[StageSummary]:
        """One row per recorded stage, in pipeline order."""
        order = [s for s in STAGES if s in self.samples]
        order += [s for s in self.samples if s not in STAGES]
        rows = []
        for stage in order:
            values = np.asarray(self.samples[stage]) * 1000.0
            if skip_first and len(values) > 1:
                values = values[1:]
            rows.append(
                StageSummary(
                    stage,
                    len(values),
                    float(values.mean()),
                    float(values.min()),
                    float(values.max()),
                    float(np.median(values)),
                    float(np.percentile(values, 90)),
                )
            )
        return rows


def render_table(timings: Timings, frames: int, seconds: float, title: str = "Timings") -> str:
    """The seed-style table: stage avg/min/max in ms, then frames and end-to-end FPS."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAVY)
    table.add_column("stage")
    for col in ("avg ms", "min ms", "max ms"):
        table.add_column(col, justify="right")
    for row in timings.summary():
        table.add_row(
            STAGE_LABELS.get(row.stage, row.stage),
            f"{row.avg_ms:.2f}",
            f"{row.min_ms:.2f}",
            f"{row.max_ms:.2f}",
        )
    fps = frames / seconds if seconds > 0 else 0.0
    table.caption = f"{frames} frames in {seconds:.2f} s — end-to-end {fps:.2f} FPS"
    console = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    return console.export_text()
