"""Benchmarks: forward-only throughput against the real pipeline, per-stage times, batching.

For each backend × device `run_bench` measures

* the forward pass alone, in a tight loop on a fixed tensor (the ceiling a pipeline can reach);
* the real CLI pipeline (`gstreamed.gst.pipeline.Job`: decode → detect → track → overlay →
  x264 → Matroska file) over the same clip, with the *same* backend object, so both use
  identical settings; its per-stage times come from the pipeline's own `Timings`;
* pipeline efficiency = end-to-end FPS / forward-only FPS;
* forward time per frame at several batch sizes, where the model takes a batch dimension.

Only numpy is imported at module level: the GStreamer, OpenCV, onnxruntime and torch parts are
imported where they are used, so forward-only measurements run on machines without GStreamer.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gstreamed import defaults
from gstreamed.errors import GstreamedError
from gstreamed.progress import Progress
from gstreamed.timing import STAGE_LABELS, STAGES, Timings

if TYPE_CHECKING:
    from gstreamed.backends import Backend
    from gstreamed.detect.detector import Detector
    from gstreamed.track import Tracker

CLIP_SIZE = (1280, 720)  # the seed's benchmark clip: 1280x720 at 30 fps
CLIP_FPS = 30
MODEL_SUFFIXES = {"ort": (".onnx",), "torch": (".safetensors",)}


@dataclass(frozen=True)
class Stat:
    """Median and 90th percentile of ``count`` samples, in milliseconds."""

    median_ms: float
    p90_ms: float
    count: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Stat:
        """The statistic of durations given in seconds."""
        ms = np.asarray(seconds, np.float64) * 1000.0
        return cls(float(np.median(ms)), float(np.percentile(ms, 90)), len(ms))

    def per(self, n: int) -> Stat:
        """The same statistic divided over ``n`` frames (a batch of ``n``)."""
        return Stat(self.median_ms / n, self.p90_ms / n, self.count)

    @property
    def fps(self) -> float:
        """Frames per second at the median."""
        return 1000.0 / self.median_ms if self.median_ms > 0 else 0.0


@dataclass
class BatchResult:
    """Forward time per frame at one batch size, or why it was skipped."""

    batch: int
    per_frame: Stat | None = None
    skipped: str = ""


@dataclass
class Row:
    """Everything measured for one backend on one device (or why it was skipped)."""

    backend: str
    device: str
    model: str = ""
    skipped: str = ""
    forward_only: Stat | None = None
    stages: dict[str, Stat] = field(default_factory=dict)
    pipeline_fps: float | None = None
    pipeline_frames: int = 0
    batches: list[BatchResult] = field(default_factory=list)

    @property
    def efficiency(self) -> float | None:
        """End-to-end FPS / forward-only FPS."""
        if self.pipeline_fps is None or self.forward_only is None:
            return None
        return self.pipeline_fps / self.forward_only.fps

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["efficiency"] = self.efficiency
        if self.forward_only is not None:
            data["forward_only"]["fps"] = self.forward_only.fps
        return data


@dataclass
class Settings:
    """What to measure. ``models`` are candidate model files; each backend takes the first
    whose suffix it runs (.onnx for ort, .safetensors for torch)."""

    models: list[Path]
    backends: Sequence[str] = ("ort", "torch")
    devices: Sequence[str] = ("cpu", "cuda")
    frames: int = 100
    warmup: int = 10
    batches: Sequence[int] = (1,)
    threads: int | None = None
    half: bool = False
    clip: Path | None = None  # None: generate a 1280x720 30 fps clip
    pipeline: bool = True  # False: forward-only and an in-process detector loop, no GStreamer
    encoder_preset: str = defaults.ENCODER_PRESET
    detection: dict[str, Any] = field(default_factory=dict)  # Detector keyword options


@dataclass
class Report:
    """A whole bench run: machine facts, settings, and one `Row` per backend × device."""

    machine: dict[str, Any]
    config: dict[str, Any]
    rows: list[Row]

    def to_json(self) -> str:
        return json.dumps(
            {
                "machine": self.machine,
                "config": self.config,
                "rows": [row.to_dict() for row in self.rows],
            },
            indent=2,
        )

    def to_markdown(self) -> str:
        return render_markdown(self)


# --- measuring ---------------------------------------------------------------------------


def forward_samples(backend: Backend, batch: int, calls: int, warmup: int) -> list[float]:
    """Seconds per forward call of a fixed random ``batch``-image tensor, after ``warmup``.

    The loop runs on a fresh thread, as the pipeline's inference does on a GStreamer
    streaming thread: thread-local threading state differs from the main thread's (PyTorch's
    OpenMP pool on the main thread was measured 3-5x slower on a loaded 2-core machine).
    """
    h, w = backend.info.input_size
    tensor = np.random.default_rng(0).random((batch, 3, h, w), dtype=np.float32)
    samples: list[float] = []
    failure: list[BaseException] = []

    def loop() -> None:
        try:
            for _ in range(warmup):
                backend.forward(tensor)
            for _ in range(calls):
                start = time.perf_counter()
                backend.forward(tensor)
                samples.append(time.perf_counter() - start)
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=loop, name="bench-forward")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return samples


def forward_only(backend: Backend, batch: int, calls: int, warmup: int) -> Stat:
    """`Stat` of `forward_samples`."""
    return Stat.of(forward_samples(backend, batch, calls, warmup))


def batch_results(
    backend: Backend, batches: Sequence[int], frames: int, warmup: int, single: Stat | None = None
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


def window_stats(timings: Timings, start: int, count: int) -> dict[str, Stat]:
    """Median/p90 of each recorded stage over frames ``start`` .. ``start + count - 1``."""
    return {
        stage: Stat.of(values[start : start + count])
        for stage, values in timings.samples.items()
        if values[start : start + count]
    }


class FrameClock(Progress):
    """A silent `Progress` that records when each frame leaves the detector and tracker."""

    def __init__(self) -> None:
        super().__init__(enabled=False)
        self.times: list[float] = []

    def frame_done(self) -> None:
        super().frame_done()
        self.times.append(time.perf_counter())

    def fps(self, start: int, count: int) -> float:
        """Frames per second over frames ``start`` .. ``start + count - 1`` (0-based)."""
        first, last = max(start - 1, 0), min(start + count, len(self.times)) - 1
        span = self.times[last] - self.times[first] if last > first else 0.0
        return (last - first) / span if span > 0 else 0.0


def limit_frames(job: Any, limit: int) -> dict[str, str]:
    """Let only the first ``limit`` decoded frames into ``job``'s pipeline, then send EOS.

    Returns a dict that receives the stream's ``video`` description (size and rate).
    """
    from gi.repository import Gst

    seen = {"frames": 0}
    described: dict[str, str] = {}

    def probe(pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        seen["frames"] += 1
        if seen["frames"] == 1:
            caps = pad.get_current_caps()
            if caps is not None:
                s = caps.get_structure(0)
                ok, num, den = s.get_fraction("framerate")
                rate = f" @ {num / den:.4g} fps" if ok and den else ""
                described["video"] = f"{s.get_int('width')[1]}x{s.get_int('height')[1]}{rate}"
        if seen["frames"] <= limit:
            return Gst.PadProbeReturn.OK
        if seen["frames"] == limit + 1:
            pad.send_event(Gst.Event.new_eos())
        return Gst.PadProbeReturn.DROP

    job.entry.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
    return described


def pipeline_run(
    detector: Detector,
    clip: Path,
    frames: int,
    warmup: int,
    make_tracker: Callable[[float | None], Tracker] | None,
    encoder_preset: str,
    workdir: Path,
) -> tuple[float, dict[str, Stat], int, str]:
    """Run the CLI pipeline on ``clip`` for ``warmup + frames`` frames, writing a real file.

    Returns (end-to-end FPS after warm-up, stage stats over the same frames, frames measured,
    video description).
    """
    from gstreamed.gst.pipeline import Job, Outputs, classify

    detector.timings = Timings()
    clock = FrameClock()
    outputs = Outputs(
        media=workdir / f"bench-{detector.backend.name}.mkv", encoder_preset=encoder_preset
    )
    job = Job(classify(str(clip)), detector, outputs, make_tracker, clock)
    described = limit_frames(job, warmup + frames)
    result = job.run()
    if result.interrupted:
        raise KeyboardInterrupt
    start = min(warmup, max(result.frames - 1, 0))
    measured = min(frames, result.frames - start)
    if measured < 2:
        raise GstreamedError(
            f"{clip}: only {result.frames} frames decoded; need more than --warmup ({warmup}) + 1"
        )
    return (
        clock.fps(start, measured),
        window_stats(detector.timings, start, measured),
        measured,
        described.get("video", ""),
    )


def detector_run(detector: Detector, frames: int, warmup: int) -> dict[str, Stat]:
    """Stage stats of the detector alone on a synthetic 1280x720 frame (no GStreamer)."""
    width, height = CLIP_SIZE
    frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    detector.timings = Timings()
    for _ in range(warmup + frames):
        detector.detect(frame)
    return window_stats(detector.timings, warmup, frames)


def generate_clip(
    path: Path, frames: int, size: tuple[int, int] = CLIP_SIZE, fps: int = CLIP_FPS
) -> Path:
    """Write an H.264 MP4 test clip (moving ball on videotestsrc) of ``frames`` frames."""
    from gstreamed.gst import Gst
    from gstreamed.gst.pipeline import make, mp4_pipeline, play

    width, height = size
    caps = Gst.Caps.from_string(
        f"video/x-raw,format=I420,width={width},height={height},framerate={fps}/1"
    )
    source = make("videotestsrc", num_buffers=frames)
    Gst.util_set_object_arg(source, "pattern", "ball")
    play(mp4_pipeline(path, source, make("capsfilter", caps=caps), keyframe_every=fps), str(path))
    return path


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


def cuda_unavailable(backend: str) -> str | None:
    """Why ``backend`` cannot use CUDA on this machine, or None when it can (the backend
    module's own answer, the one its CPU fallback warning gives)."""
    if backend == "ort":
        from gstreamed.backends import ort

        return ort.cuda_unavailable()
    try:
        from gstreamed.backends import pytorch
    except GstreamedError:  # raised for a missing PyTorch
        return "torch not installed"
    return pytorch.cuda_unavailable()


def pick_model(backend: str, models: Sequence[Path]) -> Path | None:
    """The first of ``models`` that ``backend`` runs (by file suffix)."""
    suffixes = MODEL_SUFFIXES.get(backend, ())
    return next((m for m in models if m.suffix.lower() in suffixes), None)


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
            settings.encoder_preset,
            workdir,
        )
    else:
        row.stages = detector_run(detector, settings.frames, settings.warmup)
    samples += forward_samples(backend, 1, settings.frames - half, 0)
    row.forward_only = Stat.of(samples)
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
            clip = generate_clip(
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
        "encoder": f"x264enc speed-preset={settings.encoder_preset}",
        "detection": settings.detection,
    }
    return Report(machine_info(), config, rows)


def input_size(models: Sequence[Path]) -> str:
    """The network input size read from the first ONNX model's metadata, when there is one."""
    from gstreamed.backends.base import parse_imgsz

    onnx_model = pick_model("ort", models)
    if onnx_model is None:
        return ""
    try:
        import onnx

        props = {
            p.key: p.value
            for p in onnx.load(str(onnx_model), load_external_data=False).metadata_props
        }
    except Exception:
        return ""
    size = parse_imgsz(props.get("imgsz"))
    return f"{size[0]}x{size[1]}" if size else ""


def machine_info() -> dict[str, Any]:
    """CPU model, cores, library versions, GPU and date, for comparing runs."""
    info: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_avg": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    for module in ("onnxruntime", "torch", "cv2"):
        info[module] = module_version(module)
    try:
        from gstreamed.gst import init

        init()
        from gi.repository import Gst

        info["gstreamer"] = Gst.version_string().split()[-1]
    except (ImportError, ValueError):
        info["gstreamer"] = None
    if info["torch"]:
        import torch

        info["cuda_device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def module_version(module: str) -> str | None:
    """``module.__version__``, or None when it is not importable."""
    try:
        return str(__import__(module).__version__)
    except ImportError:
        return None


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --- reporting ---------------------------------------------------------------------------


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(stat: Stat | None) -> str:
    return f"{stat.median_ms:.2f} / {stat.p90_ms:.2f}" if stat else "–"


def _fps(value: float | None) -> str:
    return f"{value:.1f}" if value else "–"


def efficiency_lines(report: Report) -> list[str]:
    """One prominent line per measured row: efficiency and the two FPS it comes from."""
    return [
        f"**pipeline efficiency {row.backend}/{row.device}: {row.efficiency:.2f}** "
        f"(end-to-end {row.pipeline_fps:.1f} FPS / forward-only "
        f"{row.forward_only.fps:.1f} FPS)"  # type: ignore[union-attr]
        for row in report.rows
        if row.efficiency is not None
    ]


def render_markdown(report: Report) -> str:
    """The report as Markdown: summary, stage medians/p90, batch scaling, machine."""
    m, c = report.machine, report.config
    stage_names = [s for s in STAGES if any(s in r.stages for r in report.rows)] or [
        "preprocess",
        "forward",
        "postprocess",
    ]
    summary, stages, batch_rows = [], [], []
    batches = list(c["batches"])
    for row in report.rows:
        head = [row.backend, row.device]
        if row.skipped:
            summary.append([*head, f"skipped: {row.skipped}", "", "", ""])
            continue
        summary.append(
            [
                *head,
                _fps(row.forward_only.fps if row.forward_only else None),
                _fps(row.pipeline_fps),
                f"**{row.efficiency:.2f}**" if row.efficiency else "–",
                str(row.pipeline_frames or "–"),
            ]
        )
        stages.append(
            head + [_ms(row.stages.get(s)) for s in stage_names] + [_ms(row.forward_only)]
        )
        batch_rows.append(
            head
            + [
                f"skipped: {b.skipped}"
                if b.skipped
                else f"{b.per_frame.median_ms:.2f} ({b.per_frame.fps:.1f} FPS)"  # type: ignore[union-attr]
                for b in row.batches
            ]
        )
    where = "in the pipeline" if c["pipeline"] else "detector loop on a synthetic frame"
    parts = [
        f"# gstreamed bench, {m['date']}",
        "",
        f"- machine: {m['cpu']}, {m['cores']} cores, load average {m['load_avg']}"
        + (f", GPU {m['cuda_device']}" if m.get("cuda_device") else ""),
        (
            f"- software: onnxruntime {m['onnxruntime']}, torch {m['torch']}, "
            f"GStreamer {m['gstreamer']}, OpenCV {m['cv2']}, numpy {m['numpy']}, "
            f"Python {m['python']}"
        ),
        f"- model: {', '.join(Path(p).name for p in c['models'])}"
        + (f" (input {c['input_size']})" if c["input_size"] else ""),
        f"- clip: {c['clip']}" + (f" ({c['video']})" if c["video"] else ""),
        (
            f"- {c['frames']} frames measured after {c['warmup']} warm-up; threads "
            f"{c['threads'] or 'backend default'}; {c['encoder']}"
        ),
        "",
        *efficiency_lines(report),
        "",
        "## Throughput",
        "",
        md_table(
            ["backend", "device", "forward-only FPS", "end-to-end FPS", "efficiency", "frames"],
            summary,
        ),
        "",
        f"## Stages, ms median / p90 ({where})",
        "",
        md_table(
            ["backend", "device"] + [STAGE_LABELS[s] for s in stage_names] + ["forward only"],
            stages,
        ),
    ]
    if batch_rows:
        parts += [
            "",
            "## Forward pass per frame by batch size, ms (FPS)",
            "",
            md_table(["backend", "device"] + [f"batch {b}" for b in batches], batch_rows),
        ]
    return "\n".join(parts) + "\n"
