#!/usr/bin/env bash
# Runs benchmarks/gpu.py (what it measures is described there) on a lent GPU machine: installs
# the wheels of .whl/ offline, puts src/ on PYTHONPATH and caps the run at 5 minutes.
#
#   bash benchmarks/gpu_bench.sh          # on the GPU machine (about 1-3 minutes, capped at 5)
#   bash benchmarks/gpu_bench.sh --cpu    # quick smoke run on CPU (yolov8n only, few iterations)
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

exec timeout 300 "$PYTHON" benchmarks/gpu.py "$OUT" "$@"
