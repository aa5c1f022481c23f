"""Facts about the machine and the software a bench ran with, for comparing runs."""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gstreamed.errors import GstreamedError

MODEL_SUFFIXES = {"ort": (".onnx",), "torch": (".safetensors",)}


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
