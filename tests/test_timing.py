"""Stage timing aggregates and the printed table."""

from __future__ import annotations

import pytest

from gstreamed.timing import Timings, timing_table


def test_summary_excludes_first_frame_and_keeps_pipeline_order():
    timings = Timings()
    for seconds in (1.0, 0.010, 0.020, 0.030):
        timings.add("forward", seconds)
    timings.add("preprocess", 0.5)
    rows = {row.stage: row for row in timings.summary()}
    assert [r.stage for r in timings.summary()] == ["preprocess", "forward"]
    forward = rows["forward"]
    assert forward.count == 3
    assert forward.avg_ms == pytest.approx(20.0)
    assert (forward.min_ms, forward.max_ms) == pytest.approx((10.0, 30.0))
    assert rows["preprocess"].count == 1  # a single sample is kept


def test_table_lists_stages_and_fps():
    timings = Timings()
    for stage in ("preprocess", "forward", "postprocess", "tracking", "annotation"):
        with timings.measure(stage):
            pass
    text = timing_table(timings, frames=50, seconds=2.0)
    for label in ("preprocess", "forward pass", "postprocess", "tracking", "annotation"):
        assert label in text
    assert "50 frames" in text and "25.00 FPS" in text
