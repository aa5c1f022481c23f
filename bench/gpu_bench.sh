#!/usr/bin/env bash
# Forward-pass benchmark for a lent GPU machine (the `gstreamed bench` measurements that need
# no GStreamer): YOLOv8n and YOLOv8s with random weights (no weights travel there), exported
# to ONNX by gstreamed itself; onnxruntime with the CUDA / TensorRT execution providers when
# they load, and torch in fp32 and fp16; batch 1 and 8, forward time per frame. Where OpenCV
# is importable it adds the detector loop (preprocess of a 1280x720 frame, forward,
# postprocess) at batch 1. Prints a Markdown table and writes it to $OUT/gpu_bench.md.
#
#   bash bench/gpu_bench.sh          # on the GPU machine (about 1-3 minutes, capped at 5)
#   bash bench/gpu_bench.sh --cpu    # quick smoke run on CPU (yolov8n only, few iterations)
#
# Needs python3 with numpy, onnx, onnxruntime, torch, safetensors (opencv optional). Wheels in
# .whl/ at the repository root, if any, are installed first (offline); nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/gstreamed-site .whl/*.whl
  export PYTHONPATH=/tmp/gstreamed-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
  --format=csv,noheader || true

exec timeout 300 "$PYTHON" - "$OUT" "$@" <<'PY'
import importlib
import sys
import tempfile
import time
from pathlib import Path

out, cpu = Path(sys.argv[1]), "--cpu" in sys.argv[2:]
BUDGET_S = 270.0  # stop adding rows past this, so the whole script ends under 5 minutes
started = time.perf_counter()

have = {}
for name in ("numpy", "onnx", "onnxruntime", "torch", "safetensors", "cv2"):
    try:
        importlib.import_module(name)
        have[name] = True
    except ImportError as exc:
        have[name] = False
        print(f"gpu_bench: {name} not importable ({exc})", file=sys.stderr)
missing = [n for n in ("numpy", "onnx", "torch", "safetensors") if not have[n]]
if missing:
    sys.exit(f"gpu_bench: needs {', '.join(missing)}; put wheels in .whl/")

import math

import numpy as np
import torch
from safetensors.torch import save_file

from gstreamed.backends.yolov8 import STRIDES, YoloV8
from gstreamed.bench import (Stat, cuda_unavailable, detector_run, forward_only,
                             machine_info, md_table, open_backend)
from gstreamed.defaults import COCO_NAMES

device = "cpu" if cpu else "cuda"
scales = ("n",) if cpu else ("n", "s")
batches = (1, 8)
calls = {1: 5, 8: 2} if cpu else {1: 100, 8: 30}
warmup = 2 if cpu else 20
if not cpu and not torch.cuda.is_available():
    sys.exit("gpu_bench: torch sees no CUDA device (use --cpu for a CPU smoke run)")


def random_weights(scale: str, folder: Path) -> Path:
    """YOLOv8{scale} with random weights and Ultralytics' class-bias init, as safetensors."""
    torch.manual_seed(0)
    network = YoloV8(scale, len(COCO_NAMES))
    with torch.no_grad():
        for stride, head in zip(STRIDES, network.model["22"].cv3):
            head[2].bias.fill_(math.log(5 / len(COCO_NAMES) / (640 / stride) ** 2))
    metadata = {"names": str(dict(enumerate(COCO_NAMES))), "imgsz": "[640, 640]",
                "stride": "32", "task": "detect",
                "description": f"YOLOv8{scale}, random weights (gpu_bench)"}
    path = folder / f"yolov8{scale}-random.safetensors"
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(path), metadata)
    return path


def variants(weights: Path, folder: Path) -> list[tuple[str, str, object]]:
    """(backend label, precision, model path or skip reason) for every configuration."""
    rows: list[tuple[str, str, object]] = []
    onnx_path: object
    try:
        from gstreamed.backends.export import export_onnx

        onnx_path = export_onnx(weights, folder / f"{weights.stem}.onnx", dynamic=True)
    except Exception as exc:  # noqa: BLE001 — reported as the rows' reason
        onnx_path = f"ONNX export failed: {exc}"
    if not have["onnxruntime"]:
        onnx_path = "onnxruntime not importable"
    reason = cuda_unavailable("ort") if device == "cuda" else None
    rows.append(("ort", "fp32", reason or onnx_path))
    if device == "cuda":
        import onnxruntime as ort

        trt = "TensorrtExecutionProvider" in ort.get_available_providers()
        rows.append(("ort-tensorrt", "fp32", onnx_path if trt and not reason else
                     reason or "onnxruntime has no TensorrtExecutionProvider"))
    rows.append(("torch", "fp32", weights))
    rows.append(("torch", "fp16", weights if device == "cuda" else "fp16 needs CUDA"))
    return rows


def load(label: str, precision: str, model: Path) -> object:
    """The backend of one configuration, or the reason it did not load."""
    if label == "ort-tensorrt":
        from gstreamed.backends import load_backend

        try:
            backend = load_backend(model, "ort", device, tensorrt=True)
        except Exception as exc:  # noqa: BLE001
            return f"TensorRT EP failed: {exc}"
        if backend.providers[0] != "TensorrtExecutionProvider":
            return f"TensorRT EP did not initialise (active: {backend.providers[0]})"
        return backend
    return open_backend(label, device, model, None, precision == "fp16")


def cell(stat: Stat | None) -> str:
    return f"{stat.median_ms:.2f} ({stat.fps:.1f} FPS)" if stat else "–"


def reference_output(weights: Path) -> tuple[np.ndarray, np.ndarray]:
    """A fixed input and torch CPU fp32's head output for it: the accuracy reference."""
    x = np.random.default_rng(0).random((1, 3, 640, 640), dtype=np.float32)
    return x, open_backend("torch", "cpu", weights, None, False).forward(x)


table = []
with tempfile.TemporaryDirectory(prefix="gpu-bench-") as tmp:
    for scale in scales:
        weights = random_weights(scale, Path(tmp))
        probe_input, reference = reference_output(weights)
        for label, precision, model in variants(weights, Path(tmp)):
            head = [f"yolov8{scale}", label, precision, device]
            if time.perf_counter() - started > BUDGET_S:
                table.append(head + ["skipped: time budget spent"] + [""] * 5)
                continue
            backend = model if isinstance(model, str) else load(label, precision, model)
            if isinstance(backend, str):
                table.append(head + [f"skipped: {backend}"] + [""] * 5)
                print(f"gpu_bench: {' '.join(head)}: skipped: {backend}", file=sys.stderr)
                continue
            error = float(np.abs(backend.forward(probe_input) - reference).max())
            per_frame = {}
            for batch in batches:
                if batch > backend.max_batch:
                    per_frame[batch] = None
                    continue
                per_frame[batch] = forward_only(backend, batch, calls[batch], warmup).per(batch)
            loop = "OpenCV missing"
            pre = post = "–"
            if have["cv2"]:
                from gstreamed.detect.detector import Detector

                stages = detector_run(Detector(backend), calls[1], warmup)
                pre = f"{stages['preprocess'].median_ms:.2f}"
                post = f"{stages['postprocess'].median_ms:.2f}"
                total = sum(s.median_ms for s in stages.values())
                loop = f"{1000 / total:.1f}"
            table.append(head + [cell(per_frame[1]), cell(per_frame[8]), f"{error:.2g}", pre,
                                 post, loop])
            print(f"gpu_bench: {' | '.join(table[-1])}", file=sys.stderr)
            del backend
            if device == "cuda":
                torch.cuda.empty_cache()

m = machine_info()
text = "\n".join([
    f"# gstreamed GPU forward bench, {m['date']}",
    "",
    f"- GPU: {m.get('cuda_device')}; CPU: {m['cpu']}, {m['cores']} cores",
    f"- torch {m['torch']}, onnxruntime {m['onnxruntime']}, OpenCV {m['cv2']}, "
    f"numpy {m['numpy']}, Python {m['python']}",
    "- models: YOLOv8n/s, 80 classes, 640x640, random weights (Ultralytics class-bias init, "
    "so postprocess sees few candidates); ONNX exported by gstreamed with a dynamic batch",
    f"- forward: median ms per frame (FPS) over {calls[1]} calls at batch 1 and {calls[8]} at "
    f"batch 8 after {warmup} warm-up, host tensor in, host array out (copies included)",
    "- max |d|: largest difference of the head output from torch CPU fp32 on one fixed input "
    "(boxes are in input pixels up to 640, where fp16's spacing is 0.25-0.5)",
    "- pre/postprocess: median ms in the detector loop on a 1280x720 frame, batch 1; "
    "loop FPS = 1000 / (pre + forward + post)",
    "",
    md_table(["model", "backend", "precision", "device", "forward b1", "forward b8 (per frame)",
              "max |d| vs CPU fp32", "preprocess", "postprocess", "detector loop FPS"], table),
    "",
])
print(text)
(out / "gpu_bench.md").write_text(text)
print(f"gpu_bench: wrote {out / 'gpu_bench.md'} in {time.perf_counter() - started:.0f} s",
      file=sys.stderr)
PY
