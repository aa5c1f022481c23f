"""GPU forward time: gstreamed's torch backend (CUDA fp32/fp16) against onnxruntime CUDA.

    python3 bench/gpu_torch_ort.py [--runs 50] [--out DIR]     # on a machine with a GPU

YOLOv8n and YOLOv8s at 640x640 with random weights at the real scales (nothing is
downloaded), exported to ONNX by gstreamed itself (fp32, and fp16 for ORT). Times are
``Backend.forward`` (numpy in, numpy out: transfers included), median after warm-up, at batch
1 and 8 (per frame). "max |d|" is the largest difference of the head output from torch CPU
fp32 on the same input. Rows that cannot run here (no CUDA in torch, onnxruntime without the
CUDA execution provider) say why instead of failing. Prints a Markdown table (also written to
DIR/gpu_torch_ort.md with --out, or $OUT). Stops starting new rows after --budget seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from gstreamed.errors import GstreamedError  # noqa: E402

IMGSZ = 640
BATCHES = (1, 8)
SCALES = ("n", "s")


def timed(forward, x: np.ndarray, runs: int, warmup: int) -> float:
    """Median milliseconds per frame of ``forward(x)``."""
    for _ in range(warmup):
        forward(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        forward(x)
        times.append((time.perf_counter() - start) * 1e3 / len(x))
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--budget", type=float, default=240.0, help="seconds")
    parser.add_argument("--out", type=Path, default=os.environ.get("OUT"))
    args = parser.parse_args()
    began = time.monotonic()
    try:
        import torch
        from safetensors.torch import save_file

        from gstreamed.backends import ModelInfo, load_backend
        from gstreamed.backends.export import export_onnx
        from gstreamed.backends.yolov8 import YoloV8
    except (ImportError, GstreamedError) as exc:
        print(f"cannot run: {exc} (needs torch, onnx, onnxruntime, safetensors)")
        return 1
    import onnxruntime

    cuda = torch.cuda.is_available()
    gpu = torch.cuda.get_device_name(0) if cuda else "no CUDA device visible to torch"
    providers = onnxruntime.get_available_providers()
    print(f"GPU: {gpu}; torch {torch.__version__} (CUDA {torch.version.cuda}); onnxruntime "
          f"{onnxruntime.__version__} providers {providers}")
    rows: list[str] = []
    rng = np.random.default_rng(0)
    from gstreamed.defaults import COCO_NAMES

    metadata = ModelInfo((IMGSZ, IMGSZ), COCO_NAMES).metadata()
    with tempfile.TemporaryDirectory() as tmp:
        for scale in SCALES:
            torch.manual_seed(0)
            weights = Path(tmp) / f"yolov8{scale}.safetensors"
            save_file(YoloV8(scale, 80).state_dict(), str(weights), metadata=metadata)
            onnx32 = export_onnx(weights, Path(tmp) / f"yolov8{scale}.onnx", dynamic=True)
            onnx16 = export_onnx(weights, Path(tmp) / f"yolov8{scale}-fp16.onnx", dynamic=True,
                                 half=True)
            inputs = {b: rng.random((b, 3, IMGSZ, IMGSZ), np.float32) for b in BATCHES}
            cpu = load_backend(weights, "torch")
            reference = {b: cpu.forward(inputs[b]) for b in BATCHES}
            engines = [
                ("torch CUDA fp32", partial(load_backend, weights, "torch", "cuda"),
                 None if cuda else "torch has no CUDA"),
                ("torch CUDA fp16", partial(load_backend, weights, "torch", "cuda", half=True),
                 None if cuda else "torch has no CUDA"),
                ("ort CUDA fp32", partial(load_backend, onnx32, "ort", "cuda"), None),
                ("ort CUDA fp16", partial(load_backend, onnx16, "ort", "cuda"), None),
            ]
            for label, make, why_not in engines:
                name = f"YOLOv8{scale} {label}"
                if why_not is None and time.monotonic() - began > args.budget:
                    why_not = "time budget spent"
                backend = None
                if why_not is None:
                    try:
                        backend = make()
                    except GstreamedError as exc:
                        why_not = str(exc)
                if backend is not None and backend.device == "cpu":
                    why_not = "fell back to CPU (install onnxruntime-gpu with CUDA/cuDNN libs)"
                if why_not is not None:
                    rows.append(f"| {name} | - | - | - | skipped: {why_not} |")
                    continue
                cells = []
                for b in BATCHES:
                    ms = timed(backend.forward, inputs[b], args.runs, args.warmup)
                    diff = float(np.abs(backend.forward(inputs[b]) - reference[b]).max())
                    cells.append((ms, diff))
                rows.append(f"| {name} | {cells[0][0]:.2f} | {cells[1][0]:.2f} | "
                            f"{max(d for _, d in cells):.3g} | |")
                print(rows[-1], flush=True)
    table = "\n".join([
        f"YOLOv8 {IMGSZ}x{IMGSZ}, {gpu}, ms per frame (median of {args.runs}), "
        f"Backend.forward with host transfers\n",
        "| model / engine | batch 1 ms | batch 8 ms/frame | max abs diff vs torch CPU fp32 "
        "| note |",
        "|---|---:|---:|---:|---|", *rows])
    print("\n" + table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_torch_ort.md").write_text(table + "\n")
    print(f"\ndone in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
