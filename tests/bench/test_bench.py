"""`gstreamed bench` as a real subprocess on a generated model and clip; timings never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gstreamed.bench import FrameClock
from gstreamed.tables import markdown_table
from gstreamed.timing import Stats

STAGE_KEYS = {"preprocess", "forward", "postprocess", "tracking", "annotation"}


def bench(out: Path, *args: str) -> tuple[dict, str, subprocess.CompletedProcess[str]]:
    """Run ``python -m gstreamed bench ... --out OUT``; returns (bench.json, bench.md, process)."""
    proc = subprocess.run(
        [sys.executable, "-m", "gstreamed", "bench", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return (json.loads((out / "bench.json").read_text()), (out / "bench.md").read_text(), proc)


def cuda_skip_expected() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" not in ort.get_available_providers()


def test_bench_on_a_clip(tmp_path: Path, tiny_model: Path, tiny_clip: Path) -> None:
    data, markdown, proc = bench(
        tmp_path / "out",
        "--model",
        str(tiny_model),
        "--input",
        str(tiny_clip),
        "--backends",
        "ort,torch",
        "--devices",
        "cpu,cuda",
        "--frames",
        "6",
        "--warmup",
        "2",
        "--batch",
        "1,2",
    )
    assert set(data) == {"machine", "config", "rows"}
    for key in ("cpu", "cores", "onnxruntime", "torch", "gstreamer", "date"):
        assert key in data["machine"]
    assert data["config"]["input_size"] == "64x64"
    assert data["config"]["video"] == "160x96 @ 10 fps"
    rows = {(r["backend"], r["device"]): r for r in data["rows"]}
    assert set(rows) == {("ort", "cpu"), ("ort", "cuda"), ("torch", "cpu"), ("torch", "cuda")}

    ort_cpu = rows["ort", "cpu"]
    assert ort_cpu["skipped"] == ""
    assert set(ort_cpu["stages"]) == STAGE_KEYS
    assert all(
        s["count"] == 6 and s["p90_ms"] >= s["median_ms"] >= 0 for s in ort_cpu["stages"].values()
    )
    assert ort_cpu["pipeline_frames"] == 6
    assert ort_cpu["pipeline_fps"] > 0 and ort_cpu["forward_only"]["fps"] > 0
    assert ort_cpu["efficiency"] == pytest.approx(
        ort_cpu["pipeline_fps"] / ort_cpu["forward_only"]["fps"]
    )
    assert [b["batch"] for b in ort_cpu["batches"]] == [1, 2]
    assert all(b["per_frame"] and not b["skipped"] for b in ort_cpu["batches"])

    assert "no .safetensors model" in rows["torch", "cpu"]["skipped"]
    if cuda_skip_expected():
        assert "CUDAExecutionProvider" in rows["ort", "cuda"]["skipped"]
    assert all(rows[k]["skipped"] for k in (("ort", "cuda"), ("torch", "cuda")))

    assert "pipeline efficiency ort/cpu" in markdown
    assert "| ort | cuda | skipped: " in markdown
    assert "## Stages" in markdown and "## Forward pass per frame by batch size" in markdown
    assert "pipeline efficiency ort/cpu" in proc.stderr


def test_bench_generates_its_clip(tmp_path: Path, tiny_model: Path) -> None:
    data, markdown, _ = bench(
        tmp_path / "out",
        "--model",
        str(tiny_model),
        "--backends",
        "ort",
        "--devices",
        "cpu",
        "--frames",
        "3",
        "--warmup",
        "1",
    )
    assert data["config"]["video"] == "1280x720 @ 30 fps"
    (row,) = data["rows"]
    assert row["pipeline_frames"] == 3 and set(row["stages"]) == STAGE_KEYS
    assert "generated videotestsrc" in markdown


def test_bench_without_pipeline(tmp_path: Path, tiny_model: Path) -> None:
    data, _, _ = bench(
        tmp_path / "out",
        "--model",
        str(tiny_model),
        "--backends",
        "ort",
        "--devices",
        "cpu",
        "--frames",
        "4",
        "--warmup",
        "1",
        "--no-pipeline",
    )
    (row,) = data["rows"]
    assert set(row["stages"]) == {"preprocess", "forward", "postprocess"}
    assert row["pipeline_fps"] is None and row["efficiency"] is None


def test_bench_rejects_bad_options(tiny_model: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gstreamed",
            "bench",
            "--model",
            str(tiny_model),
            "--backends",
            "tensorflow",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1 and "unknown backend" in proc.stderr


def test_stat_and_clock() -> None:
    stat = Stats.of([0.010, 0.020, 0.030])
    assert stat.median_ms == pytest.approx(20.0) and stat.count == 3
    assert stat.fps == pytest.approx(50.0)
    assert stat.per(2).median_ms == pytest.approx(10.0)
    clock = FrameClock()
    clock.times = [0.0, 1.0, 1.5, 2.0, 2.5]
    assert clock.fps_over(2, 3) == pytest.approx(3 / 1.5)  # frames 2..4: from t=1.0 to t=2.5
    assert clock.fps_over(0, 5) == pytest.approx(4 / 2.5)  # no frame before 0: 4 intervals


def test_md_table() -> None:
    assert markdown_table(["a", "b"], [["1", "2"]]) == "| a | b |\n| --- | --- |\n| 1 | 2 |"


def test_bench_streams_compares_one_process_with_separate_ones(
    tmp_path: Path, tiny_model: Path, tiny_clip: Path
) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "gstreamed", "bench", "--streams", "2", "--model", str(tiny_model),
         "--input", str(tiny_clip), "--backends", "ort", "--devices", "cpu", "--frames", "6",
         "--nireq", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "streams.json").read_text())
    frames = data["clip_frames"]
    assert data["streams"] == 2 and frames > 0
    # The tiny model has a dynamic batch and one request runs at a time: the two streams'
    # frames shared forward passes.
    assert sum(int(size) * n for size, n in data["batch_sizes"].items()) == 2 * frames
    assert "2" in data["batch_sizes"] and data["forward_batch"] == 2
    assert data["forward_requests"] == 1
    for key in ("one_process_fps", "separate_fps", "no_output_fps", "forward_fps"):
        assert data[key] > 0, key
    assert data["one_process_peak_mb"] > 50 and data["separate_peak_mb"] > 100
    assert "2 separate processes" in (out / "streams.md").read_text()
