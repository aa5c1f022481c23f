"""Benchmarks: forward-only throughput against the real pipeline, per-stage times, batching.

For each backend × device `run_bench` measures

* the forward pass alone, in a tight loop on a fixed tensor (the ceiling a pipeline can reach);
* the real CLI pipeline (`gstreamed.gst.run.InputPipeline`: decode → detect → track → overlay →
  x264 → Matroska file) over the same clip, with the *same* backend object, so both use
  identical settings; its per-stage times come from the pipeline's own `Timings`;
* pipeline efficiency = end-to-end FPS / forward-only FPS;
* forward time per frame at several batch sizes, where the model takes a batch dimension.

Only numpy is imported at module level: the GStreamer, OpenCV, onnxruntime and torch parts are
imported where they are used, so forward-only measurements run on machines without GStreamer.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gstreamed.bench.machine import (
    MODEL_SUFFIXES,
    cuda_unavailable,
    input_size,
    machine_info,
    pick_model,
)
from gstreamed.bench.report import BatchResult, Report, Row, Settings
from gstreamed.errors import GstreamedError
from gstreamed.outputs import EncoderParams
from gstreamed.progress import Progress
from gstreamed.timing import Stats, Timings

if TYPE_CHECKING:
    from gstreamed.backends import Backend
    from gstreamed.detect.detector import Detector
    from gstreamed.track import Tracker

CLIP_SIZE = (1280, 720)  # the seed's benchmark clip: 1280x720 at 30 fps
CLIP_FPS = 30


def _timed_forwards(
    backend: Backend, batch: int, calls: int, warmup: int, threads: int = 1
) -> tuple[list[float], float]:
    """Seconds of each of ``calls`` forward calls of a fixed random ``batch``-image tensor on
    each of ``threads`` fresh threads at once (after ``warmup`` calls each, then started
    together), and the wall seconds from the first timed call to the last one's end.

    Fresh threads, as the pipeline's inference runs on GStreamer streaming threads:
    thread-local threading state differs from the main thread's (PyTorch's OpenMP pool on
    the main thread was measured 3-5x slower on a loaded 2-core machine).
    """
    h, w = backend.info.input_size
    tensor = np.random.default_rng(0).random((batch, 3, h, w), dtype=np.float32)
    together = threading.Barrier(threads)
    samples: list[float] = []
    started: list[float] = []
    finished: list[float] = []
    failure: list[BaseException] = []

    def loop() -> None:
        try:
            for _ in range(warmup):
                backend.forward(tensor)
            together.wait()
            started.append(time.perf_counter())
            for _ in range(calls):
                start = time.perf_counter()
                backend.forward(tensor)
                samples.append(time.perf_counter() - start)
            finished.append(time.perf_counter())
        except BaseException as exc:
            failure.append(exc)
            together.abort()

    workers = [threading.Thread(target=loop, name="bench-forward") for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failure:
        raise next(
            (f for f in failure if not isinstance(f, threading.BrokenBarrierError)), failure[0]
        )
    return samples, max(finished) - min(started)


def forward_samples(backend: Backend, batch: int, calls: int, warmup: int) -> list[float]:
    """Seconds per forward call of a fixed random ``batch``-image tensor, after ``warmup``,
    on a fresh thread (see `_timed_forwards`)."""
    return _timed_forwards(backend, batch, calls, warmup)[0]


def forward_throughput(
    backend: Backend, batch: int, requests: int, calls: int, warmup: int
) -> float:
    """Frames/s of about ``calls`` forward passes of ``batch`` images with ``requests`` of them
    in flight at once (threads sharing the backend, as a shared model's workers do)."""
    samples, seconds = _timed_forwards(backend, batch, max(1, calls // requests), warmup, requests)
    return batch * len(samples) / seconds


def forward_only(backend: Backend, batch: int, calls: int, warmup: int) -> Stats:
    """`Stats` of `forward_samples`."""
    return Stats.of(forward_samples(backend, batch, calls, warmup))


def batch_results(
    backend: Backend, batches: Sequence[int], frames: int, warmup: int, single: Stats | None = None
) -> list[BatchResult]:
    """Forward time per frame for each batch size the backend accepts; ``single`` is an
    already measured batch-1 statistic to reuse."""
    results = []
    for batch in batches:
        if batch == 1 and single is not None:
            results.append(BatchResult(1, single))
        elif batch > backend.max_batch:
            results.append(
                BatchResult(batch, skipped=f"model batch dimension is fixed to {backend.max_batch}")
            )
        else:
            calls = max(3, frames // batch)
            stat = forward_only(backend, batch, calls, max(1, warmup // batch))
            results.append(BatchResult(batch, stat.per(batch)))
    return results


def window_stats(timings: Timings, start: int, count: int) -> dict[str, Stats]:
    """Median/p90 of each recorded stage over frames ``start`` .. ``start + count - 1``."""
    windows = {stage: timings.values(stage)[start : start + count] for stage in timings.series}
    return {stage: Stats.of(window) for stage, window in windows.items() if window}


class FrameClock(Progress):
    """A silent `Progress` that records when each frame leaves the detector and tracker."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def frame_done(self) -> None:
        super().frame_done()
        self.times.append(time.perf_counter())

    def fps_over(self, start: int, count: int) -> float:
        """Frames per second over frames ``start`` .. ``start + count - 1`` (0-based)."""
        first, last = max(start - 1, 0), min(start + count, len(self.times)) - 1
        span = self.times[last] - self.times[first] if last > first else 0.0
        return (last - first) / span if span > 0 else 0.0


def describe_video(caps: object) -> str:
    """``1280x720 @ 30 fps`` from video caps (empty when unknown)."""
    if caps is None:
        return ""
    structure = caps.get_structure(0)  # type: ignore[attr-defined]
    ok, num, den = structure.get_fraction("framerate")
    rate = f" @ {num / den:.4g} fps" if ok and den else ""
    return f"{structure.get_int('width')[1]}x{structure.get_int('height')[1]}{rate}"


def pipeline_run(
    detector: Detector,
    clip: Path,
    frames: int,
    warmup: int,
    make_tracker: Callable[[float | None], Tracker] | None,
    encoder: EncoderParams,
    workdir: Path,
) -> tuple[float, dict[str, Stats], int, str]:
    """Run the CLI pipeline on ``clip`` for ``warmup + frames`` frames, writing a real file.

    Returns (end-to-end FPS after warm-up, stage stats over the same frames, frames measured,
    video description).
    """
    from gstreamed.gst.run import InputPipeline, Outputs
    from gstreamed.gst.sources import classify

    detector.timings = Timings()
    clock = FrameClock()
    outputs = Outputs(media=workdir / f"bench-{detector.backend.name}.mkv", encoder=encoder)
    run = InputPipeline(
        classify(str(clip)),
        outputs,
        detector.timings,
        detector=detector,
        make_tracker=make_tracker,
        frame_limit=warmup + frames,
        progress=clock,
    )
    result = run.run()
    if result.interrupted:
        raise KeyboardInterrupt
    if result.error is not None:
        raise GstreamedError(result.error)
    start = min(warmup, max(result.frames - 1, 0))
    measured = min(frames, result.frames - start)
    if measured < 2:
        raise GstreamedError(
            f"{clip}: only {result.frames} frames decoded; need more than --warmup ({warmup}) + 1"
        )
    return (
        clock.fps_over(start, measured),
        window_stats(detector.timings, start, measured),
        measured,
        describe_video(run.video_caps),
    )


def detector_run(detector: Detector, frames: int, warmup: int) -> dict[str, Stats]:
    """Stage stats of the detector alone on a synthetic 1280x720 frame (no GStreamer)."""
    width, height = CLIP_SIZE
    frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    detector.timings = Timings()
    for _ in range(warmup + frames):
        detector.detect(frame)
    return window_stats(detector.timings, warmup, frames)


def open_backend(
    name: str, device: str, model: Path, threads: int | None, half: bool
) -> Backend | str:
    """The loaded backend, or the reason it cannot run here."""
    from gstreamed.backends import load_backend

    reason = cuda_unavailable(name) if device.startswith("cuda") else None
    if reason:
        return reason
    options: dict[str, object] = {"threads": threads} if threads else {}
    if half and name == "torch":
        options["half"] = True
    try:
        backend = load_backend(model, name, device, **options)
    except ImportError as exc:
        return f"{name} backend not importable ({exc})"
    except GstreamedError as exc:
        return str(exc)
    if device.startswith("cuda") and not backend.device.startswith("cuda"):
        return f"{name} fell back to {backend.device} (CUDA did not initialise)"
    return backend


def bench_row(
    settings: Settings,
    backend_name: str,
    device: str,
    clip: Path | None,
    make_tracker: Callable[[float | None], Tracker] | None,
    workdir: Path,
) -> tuple[Row, str]:
    """Measure one backend on one device; returns the row and the clip's description."""
    from gstreamed.detect.detector import Detector

    row = Row(backend_name, device)
    model = pick_model(backend_name, settings.models)
    if model is None:
        row.skipped = (
            f"no {'/'.join(MODEL_SUFFIXES.get(backend_name, ('?',)))} model given "
            f"(--model/--torch-model)"
        )
        return row, ""
    row.model = model.name
    backend = open_backend(backend_name, device, model, settings.threads, settings.half)
    if isinstance(backend, str):
        row.skipped = backend
        return row, ""
    # One backend object serves every measurement, so all use identical settings. Half the
    # forward-only calls run before the pipeline and half after, so that a change of machine
    # load during the run affects both sides of the efficiency ratio alike.
    half = settings.frames // 2
    samples = forward_samples(backend, 1, half, settings.warmup)
    detector = Detector(backend, **settings.detection)
    video = ""
    if settings.pipeline and clip is not None:
        row.pipeline_fps, row.stages, row.pipeline_frames, video = pipeline_run(
            detector,
            clip,
            settings.frames,
            settings.warmup,
            make_tracker,
            settings.encoder,
            workdir,
        )
    else:
        row.stages = detector_run(detector, settings.frames, settings.warmup)
    samples += forward_samples(backend, 1, settings.frames - half, 0)
    row.forward_only = Stats.of(samples)
    row.batches = batch_results(
        backend, settings.batches, settings.frames, settings.warmup, row.forward_only
    )
    return row, video


def run_bench(
    settings: Settings,
    make_tracker: Callable[[float | None], Tracker] | None = None,
    echo: Callable[[str], None] | None = None,
) -> Report:
    """Measure every backend × device of ``settings``; ``echo`` gets progress lines."""
    rows = []
    videos: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="gstreamed-bench-") as tmp:
        workdir = Path(tmp)
        clip = settings.clip
        if settings.pipeline and clip is None:
            from gstreamed.gst.samples import write_test_clip

            clip = write_test_clip(
                workdir / "bench-1280x720.mp4", settings.frames + settings.warmup + 1
            )
        for backend_name in settings.backends:
            for device in settings.devices:
                if echo:
                    echo(f"bench: {backend_name} on {device} ...")
                row, video = bench_row(settings, backend_name, device, clip, make_tracker, workdir)
                rows.append(row)
                if video:
                    videos.add(video)
    config = {
        "models": [str(m) for m in settings.models],
        "input_size": input_size(settings.models),
        "clip": str(settings.clip)
        if settings.clip
        else (
            f"generated videotestsrc ball, {CLIP_SIZE[0]}x{CLIP_SIZE[1]} @ {CLIP_FPS} fps"
            if settings.pipeline
            else "none (no pipeline)"
        ),
        "video": ", ".join(sorted(videos)),
        "frames": settings.frames,
        "warmup": settings.warmup,
        "batches": list(settings.batches),
        "threads": settings.threads,
        "half": settings.half,
        "pipeline": settings.pipeline,
        "encoder": f"x264enc speed-preset={settings.encoder.preset}",
        "detection": settings.detection,
    }
    return Report(machine_info(), config, rows)
