"""Forward-pass benchmark for a lent GPU machine (the `gstreamed bench` measurements that need
no GStreamer): YOLOv8n and YOLOv8s with random weights (no weights travel there), exported to
ONNX by gstreamed itself; onnxruntime with the CUDA / TensorRT execution providers when they
load, and torch in fp32 and fp16; batch 1 and 8, forward time per frame. Where OpenCV is
importable it adds the detector loop (preprocess of a 1280x720 frame, forward, postprocess) at
batch 1. Prints a Markdown table and writes it to OUT/gpu_bench.md.

    PYTHONPATH=src python benchmarks/gpu.py OUT          # on the GPU machine (1-3 minutes)
    PYTHONPATH=src python benchmarks/gpu.py OUT --cpu    # smoke run on CPU (yolov8n, few calls)

`gpu_bench.sh` wraps it for the device machine (offline wheels, PYTHONPATH, a time cap).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BUDGET_S = 270.0  # stop adding rows past this, so the whole run ends under 5 minutes
REQUIRED = ("numpy", "onnx", "torch", "safetensors")
COLUMNS = (
    "model",
    "backend",
    "precision",
    "device",
    "forward b1",
    "forward b8 (per frame)",
    "max |d| vs CPU fp32",
    "preprocess",
    "postprocess",
    "detector loop FPS",
)


@dataclass(frozen=True)
class Plan:
    """What one run measures: device, model scales, batch sizes, calls per batch, warm-up."""

    device: str
    scales: tuple[str, ...]
    calls: dict[int, int]
    warmup: int

    @classmethod
    def for_device(cls, cpu: bool) -> Plan:
        if cpu:
            return cls("cpu", ("n",), {1: 5, 8: 2}, 2)
        return cls("cuda", ("n", "s"), {1: 100, 8: 30}, 20)


def log(text: str) -> None:
    print(f"gpu_bench: {text}", file=sys.stderr, flush=True)


def random_weights(scale: str, folder: Path) -> Path:
    """YOLOv8{scale} with random weights and Ultralytics' class-bias init, as safetensors."""
    import torch
    from safetensors.torch import save_file

    from gstreamed.backends.yolov8 import STRIDES, YoloV8
    from gstreamed.defaults import COCO_NAMES

    torch.manual_seed(0)
    network = YoloV8(scale, len(COCO_NAMES))
    with torch.no_grad():
        for stride, head in zip(STRIDES, network.model["22"].cv3, strict=True):
            head[2].bias.fill_(math.log(5 / len(COCO_NAMES) / (640 / stride) ** 2))
    metadata = {
        "names": str(dict(enumerate(COCO_NAMES))),
        "imgsz": "[640, 640]",
        "stride": "32",
        "task": "detect",
        "description": f"YOLOv8{scale}, random weights (gpu_bench)",
    }
    path = folder / f"yolov8{scale}-random.safetensors"
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(path), metadata)
    return path


def variants(weights: Path, folder: Path, device: str) -> list[tuple[str, str, Path | str]]:
    """(backend label, precision, model path or skip reason) for every configuration."""
    from gstreamed.bench.machine import cuda_unavailable

    onnx_path: Path | str
    try:
        from gstreamed.backends.export import export_onnx

        onnx_path = export_onnx(weights, folder / f"{weights.stem}.onnx", dynamic=True)
    except Exception as exc:  # reported as the rows' reason
        onnx_path = f"ONNX export failed: {exc}"
    if importlib.util.find_spec("onnxruntime") is None:
        onnx_path = "onnxruntime not importable"
    reason = cuda_unavailable("ort") if device == "cuda" else None
    rows: list[tuple[str, str, Path | str]] = [("ort", "fp32", reason or onnx_path)]
    if device == "cuda" and not reason:
        import onnxruntime as ort

        trt = "TensorrtExecutionProvider" in ort.get_available_providers()
        rows.append(("ort-tensorrt", "fp32", onnx_path if trt else "no TensorrtExecutionProvider"))
    rows.append(("torch", "fp32", weights))
    rows.append(("torch", "fp16", weights if device == "cuda" else "fp16 needs CUDA"))
    return rows


def load(label: str, precision: str, model: Path, device: str) -> object:
    """The backend of one configuration, or the reason it did not load."""
    from gstreamed.bench.measure import open_backend

    if label == "ort-tensorrt":
        from gstreamed.backends import load_backend

        try:
            backend = load_backend(model, "ort", device, tensorrt=True)
        except Exception as exc:
            return f"TensorRT EP failed: {exc}"
        active = getattr(backend, "providers", ["?"])[0]
        if active != "TensorrtExecutionProvider":
            return f"TensorRT EP did not initialise (active: {active})"
        return backend
    return open_backend(label, device, model, None, precision == "fp16")


def cell(stat: object) -> str:
    """``ms (FPS)`` of a per-frame `gstreamed.timing.Stats`, or a dash."""
    if stat is None:
        return "–"
    return f"{stat.median_ms:.2f} ({stat.fps:.1f} FPS)"  # type: ignore[attr-defined]


def measure_row(backend: object, plan: Plan, probe: np.ndarray, reference: np.ndarray) -> list[str]:
    """Forward per frame at batch 1 and 8, accuracy against CPU fp32, and the detector loop."""
    from gstreamed.bench.measure import detector_run, forward_only

    error = float(np.abs(backend.forward(probe) - reference).max())  # type: ignore[attr-defined]
    per_frame = {
        batch: forward_only(backend, batch, calls, plan.warmup).per(batch)  # type: ignore[arg-type]
        if batch <= backend.max_batch  # type: ignore[attr-defined]
        else None
        for batch, calls in plan.calls.items()
    }
    pre = post = "–"
    loop = "OpenCV missing"
    if importlib.util.find_spec("cv2") is not None:
        from gstreamed.detect.detector import Detector

        stages = detector_run(Detector(backend), plan.calls[1], plan.warmup)  # type: ignore[arg-type]
        pre = f"{stages['preprocess'].median_ms:.2f}"
        post = f"{stages['postprocess'].median_ms:.2f}"
        loop = f"{1000 / sum(s.median_ms for s in stages.values()):.1f}"
    return [cell(per_frame[1]), cell(per_frame[8]), f"{error:.2g}", pre, post, loop]


def run(plan: Plan, started: float) -> list[list[str]]:
    """One table row per model scale × configuration."""
    import torch

    from gstreamed.bench.measure import open_backend

    table = []
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as tmp:
        for scale in plan.scales:
            weights = random_weights(scale, Path(tmp))
            probe = np.random.default_rng(0).random((1, 3, 640, 640), dtype=np.float32)
            reference = open_backend("torch", "cpu", weights, None, False).forward(probe)  # type: ignore[union-attr]
            for label, precision, model in variants(weights, Path(tmp), plan.device):
                head = [f"yolov8{scale}", label, precision, plan.device]
                if time.perf_counter() - started > BUDGET_S:
                    table.append([*head, "skipped: time budget spent"] + [""] * 5)
                    continue
                backend = (
                    model if isinstance(model, str) else load(label, precision, model, plan.device)
                )
                if isinstance(backend, str):
                    table.append([*head, f"skipped: {backend}"] + [""] * 5)
                    log(f"{' '.join(head)}: skipped: {backend}")
                    continue
                table.append(head + measure_row(backend, plan, probe, reference))
                log(" | ".join(table[-1]))
                del backend
                if plan.device == "cuda":
                    torch.cuda.empty_cache()
    return table


def report(table: list[list[str]], plan: Plan) -> str:
    """The Markdown report: machine, method, table."""
    from gstreamed.bench.machine import machine_info
    from gstreamed.tables import markdown_table

    m = machine_info()
    return "\n".join(
        [
            f"# gstreamed GPU forward bench, {m['date']}",
            "",
            f"- GPU: {m.get('cuda_device')}; CPU: {m['cpu']}, {m['cores']} cores",
            f"- torch {m['torch']}, onnxruntime {m['onnxruntime']}, OpenCV {m['cv2']}, "
            f"numpy {m['numpy']}, Python {m['python']}",
            "- models: YOLOv8n/s, 80 classes, 640x640, random weights (Ultralytics class-bias "
            "init, so postprocess sees few candidates); ONNX exported by gstreamed with a "
            "dynamic batch",
            f"- forward: median ms per frame (FPS) over {plan.calls[1]} calls at batch 1 and "
            f"{plan.calls[8]} at batch 8 after {plan.warmup} warm-up, host tensor in, host "
            "array out (copies included)",
            "- max |d|: largest difference of the head output from torch CPU fp32 on one fixed "
            "input (boxes are in input pixels up to 640, where fp16's spacing is 0.25-0.5)",
            "- pre/postprocess: median ms in the detector loop on a 1280x720 frame, batch 1; "
            "loop FPS = 1000 / (pre + forward + post)",
            "",
            markdown_table(COLUMNS, table),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for gpu_bench.md")
    parser.add_argument("--cpu", action="store_true", help="smoke run on CPU")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        log(f"needs {', '.join(missing)}; put wheels in .whl/")
        return 1
    import torch

    if not args.cpu and not torch.cuda.is_available():
        log("torch sees no CUDA device (use --cpu for a CPU smoke run)")
        return 1
    plan = Plan.for_device(args.cpu)
    text = report(run(plan, started), plan)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_bench.md").write_text(text)
    log(f"wrote {args.out / 'gpu_bench.md'} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
