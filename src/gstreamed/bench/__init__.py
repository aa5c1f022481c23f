"""Benchmarks: forward-only throughput against the real pipeline, per-stage times, batching.

`measure` runs the measurements, `report` holds and formats the results, `machine` records
what they ran on. ``gstreamed bench`` (`gstreamed.commands.bench`) is the command line.
"""

from __future__ import annotations

from gstreamed.bench.measure import FrameClock, run_bench
from gstreamed.bench.report import Report, Row, Settings, efficiency_lines

__all__ = ["FrameClock", "Report", "Row", "Settings", "efficiency_lines", "run_bench"]
