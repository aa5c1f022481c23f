"""Stage timing aggregates and the printed table."""

from __future__ import annotations

import pickle

import pytest

from gstreamed import timing
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


def test_a_run_of_days_keeps_a_bounded_sample_with_exact_totals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(timing, "SAMPLES_KEPT", 1000)
    timings = Timings()
    timings.add("forward", 5.0)  # warm-up
    for i in range(100_000):
        timings.add("forward", (i % 100) / 1000)  # 0 .. 99 ms, evenly
    (row,) = timings.summary()
    assert row.count == 100_000 and row.avg_ms == pytest.approx(49.5)
    assert (row.min_ms, row.max_ms) == pytest.approx((0.0, 99.0))
    assert abs(row.median_ms - 49.5) < 5 and abs(row.p90_ms - 89.5) < 5
    assert len(timings.values("forward")) == 1001  # the first and 1000 kept
    (with_first,) = timings.summary(skip_first=False)
    assert with_first.count == 100_001 and with_first.max_ms == pytest.approx(5000.0)
    merged = Timings()
    merged.merge(timings)
    merged.merge(timings)
    assert merged.summary(skip_first=False)[0].count == 200_002
    # the second first (5 s) counts among the rest: 2 x 4950 s + 5 s over 200,001 frames
    assert merged.summary()[0].avg_ms == pytest.approx(1000 * (2 * 4_950 + 5) / 200_001)


def test_timings_travel_between_processes() -> None:
    timings = Timings()
    for seconds in (1.0, 0.010, 0.030):
        timings.add("forward", seconds)
    copy = pickle.loads(pickle.dumps(timings))
    copy.add("forward", 0.020)
    assert copy.summary()[0].avg_ms == pytest.approx(20.0) and len(timings.values("forward")) == 3
