"""Bench results: one `Row` per backend × device, the whole `Report`, and its Markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gstreamed.outputs import EncoderParams
from gstreamed.tables import markdown_table
from gstreamed.timing import STAGE_LABELS, STAGES, Stats


@dataclass
class BatchResult:
    """Forward time per frame at one batch size, or why it was skipped."""

    batch: int
    per_frame: Stats | None = None
    skipped: str = ""


@dataclass
class Row:
    """Everything measured for one backend on one device (or why it was skipped)."""

    backend: str
    device: str
    model: str = ""
    skipped: str = ""
    forward_only: Stats | None = None
    stages: dict[str, Stats] = field(default_factory=dict)
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
    encoder: EncoderParams = field(default_factory=EncoderParams)
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


def _ms(stat: Stats | None) -> str:
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
        markdown_table(
            ["backend", "device", "forward-only FPS", "end-to-end FPS", "efficiency", "frames"],
            summary,
        ),
        "",
        f"## Stages, ms median / p90 ({where})",
        "",
        markdown_table(
            ["backend", "device"] + [STAGE_LABELS[s] for s in stage_names] + ["forward only"],
            stages,
        ),
    ]
    if batch_rows:
        parts += [
            "",
            "## Forward pass per frame by batch size, ms (FPS)",
            "",
            markdown_table(["backend", "device"] + [f"batch {b}" for b in batches], batch_rows),
        ]
    return "\n".join(parts) + "\n"
