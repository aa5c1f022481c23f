"""Forward time of YOLOv8 on this CPU: PyTorch variants against onnxruntime, in one run.

    PYTHONPATH=src .venv/bin/python benchmarks/torch_vs_ort.py [--imgsz 640] [--runs 25]

Uses the shared real YOLOv8n weights when present (../shared/models), else random YOLOv8n
weights exported to ONNX by gstreamed. Runs are interleaved (one forward of each variant per
round) so that load from other processes hits every variant alike; each variant is warmed up
first; the table gives the median and 90th percentile per repeat, and the ratio to ORT.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import torch

from gstreamed.backends import ModelInfo, load_backend
from gstreamed.backends.export import export_onnx
from gstreamed.backends.yolov8 import YoloV8, load_model
from gstreamed.defaults import COCO_NAMES

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models"


def model_files(workdir: Path) -> tuple[Path, Path]:
    """(safetensors, onnx) of a YOLOv8n: the shared real one, else random weights."""
    weights, onnx_path = SHARED / "yolov8n-coco-fused.safetensors", SHARED / "yolov8n-coco-f32.onnx"
    if weights.is_file() and onnx_path.is_file():
        return weights, onnx_path
    from safetensors.torch import save_file

    weights = workdir / "yolov8n-random.safetensors"
    metadata = ModelInfo((640, 640), COCO_NAMES).metadata()
    save_file(YoloV8("n", 80).state_dict(), str(weights), metadata=metadata)
    return weights, export_onnx(weights, workdir / "yolov8n-random.onnx")


def variants(weights: Path, onnx_path: Path, imgsz: int) -> dict[str, Callable[[], object]]:
    """Name -> one forward pass on a fixed random input."""
    x_np = np.random.default_rng(0).random((1, 3, imgsz, imgsz), np.float32)
    x = torch.from_numpy(x_np)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    net = load_model(weights).network
    net_cl = copy.deepcopy(net).to(memory_format=torch.channels_last)
    ort = load_backend(onnx_path, "ort")
    backend = load_backend(weights, "torch", imgsz=imgsz)

    def no_grad(model: torch.nn.Module, inp: torch.Tensor) -> Callable[[], object]:
        def run() -> object:
            with torch.no_grad():
                return model(inp)

        return run

    def inference(
        model: Callable[[torch.Tensor], object], inp: torch.Tensor
    ) -> Callable[[], object]:
        def run() -> object:
            with torch.inference_mode():
                return model(inp)

        return run

    out: dict[str, Callable[[], object]] = {
        "ort (CPU EP, all graph optimisations)": lambda: ort.forward(x_np),
        "torch no_grad, NCHW": no_grad(net, x),
        "torch inference_mode, NCHW": inference(net, x),
        "torch inference_mode, channels_last": inference(net_cl, x_cl),
        "TorchBackend.forward (numpy in/out)": lambda: backend.forward(x_np),
    }
    with torch.no_grad():
        frozen = torch.jit.optimize_for_inference(
            torch.jit.freeze(torch.jit.trace(copy.deepcopy(net).eval(), x, check_trace=False))
        )
    out["torch jit trace+freeze+optimize_for_inference"] = inference(frozen, x)
    try:
        compiled = torch.compile(copy.deepcopy(net_cl))
        with torch.inference_mode():
            compiled(x_cl)  # compile now, not inside the timed rounds
        out["torch.compile (inductor), channels_last"] = inference(compiled, x_cl)
    except Exception as exc:  # no compiler, unsupported platform...
        print(f"torch.compile unavailable: {type(exc).__name__}: {str(exc)[:120]}")
    return out


def measure(
    runs: dict[str, Callable[[], object]], rounds: int, warmup: int
) -> dict[str, list[float]]:
    """Milliseconds per variant, interleaved round by round."""
    for run in runs.values():
        for _ in range(warmup):
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--runs", type=int, default=25, help="timed rounds per repeat")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        weights, onnx_path = model_files(Path(tmp))
        runs = variants(weights, onnx_path, args.imgsz)
        print(
            f"\nYOLOv8n {args.imgsz}x{args.imgsz} batch 1, {os.cpu_count()} CPUs, torch "
            f"{torch.__version__} ({torch.get_num_threads()} threads), weights {weights.name}"
        )
        results = [measure(runs, args.runs, args.warmup) for _ in range(args.repeats)]
    ort_name = next(iter(runs))
    header = " | ".join(f"median ms #{i + 1} | p90 | x ORT" for i in range(args.repeats))
    print(f"\n| variant | {header} |\n|---|" + "---:|---:|---:|" * args.repeats)
    for name in runs:
        cells = []
        for times in results:
            median = statistics.median(times[name])
            p90 = statistics.quantiles(times[name], n=10)[-1]
            cells.append(
                f"{median:.1f} | {p90:.1f} | {median / statistics.median(times[ort_name]):.2f}"
            )
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
