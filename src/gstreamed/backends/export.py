"""ONNX export of YOLOv8 safetensors weights, without Ultralytics.

The exported graph has the Ultralytics interface: input ``images`` [B, 3, H, W] float,
output ``output0`` [B, 4+C, A], and Ultralytics-style ``metadata_props``, so the ORT backend
(and other Ultralytics ONNX consumers) read it like an Ultralytics export.
"""

from __future__ import annotations

import ctypes
import datetime
import json
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from gstreamed import __version__
from gstreamed.backends.yolov8 import load_model  # raises GstreamedError sans torch
from gstreamed.errors import GstreamedError

# isort: split
import onnx
import torch

log = logging.getLogger(__name__)

OPSET = 17  # read by onnxruntime >= 1.14 and TensorRT >= 8.6


def export_onnx(
    weights: str | Path,
    output: str | Path,
    imgsz: int | Sequence[int] | None = None,
    dynamic: bool = False,
    half: bool = False,
    force: bool = False,
    opset: int = OPSET,
) -> Path:
    """Write ``weights`` (YOLOv8 .safetensors) as an ONNX model at ``output``; returns it.

    ``imgsz`` (int or (h, w)) overrides the metadata's input size; ``dynamic`` makes batch,
    height and width symbolic; ``half`` writes float16 weights, input and output. An existing
    ``output`` is only replaced with ``force``.
    """
    output = Path(output)
    if output.exists() and not force:
        raise GstreamedError(f"{output} exists; pass --force to overwrite it")
    if _foreign_unwinder():
        return _export_in_fresh_process(
            weights=str(weights),
            output=str(output),
            imgsz=imgsz,
            dynamic=dynamic,
            half=half,
            force=force,
            opset=opset,
        )
    loaded = load_model(weights)
    info = loaded.info.resized(imgsz)
    dtype = torch.float16 if half else torch.float32
    network = loaded.network.to(dtype)
    sample = torch.zeros(1, 3, *info.input_size, dtype=dtype)
    axes = (
        {"images": {0: "batch", 2: "height", 3: "width"}, "output0": {0: "batch", 2: "anchors"}}
        if dynamic
        else None
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # The TorchScript exporter traces this static graph exactly and needs no
            # onnxscript; torch warns that it is no longer the default.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                network,
                (sample,),
                str(partial),
                dynamo=False,
                opset_version=opset,
                input_names=["images"],
                output_names=["output0"],
                dynamic_axes=axes,
            )
        model = onnx.load(str(partial))
        # Dynamic tracing leaves the channel count symbolic; it is 4 + classes.
        model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = 4 + len(info.names)
        description = info.description or (
            f"YOLOv8{loaded.scale} detection model exported by gstreamed from {Path(weights).name}"
        )
        metadata = {
            **info.metadata(),
            "description": description,
            "author": "gstreamed",
            "version": __version__,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "batch": "1",
            "half": str(half),
            "dynamic": str(dynamic),
            "source": Path(weights).name,
        }
        onnx.helper.set_model_props(model, metadata)
        onnx.save(model, str(partial))
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    log.info(
        "exported %s (YOLOv8%s, %d classes, %s) to %s",
        weights,
        loaded.scale,
        len(info.names),
        "x".join(map(str, info.input_size)),
        output,
    )
    return output


def _foreign_unwinder() -> bool:
    """Whether C++ exceptions would unwind through another library's ``_Unwind_Resume``.

    That is GStreamer's libunwind when ``gi`` was imported before ``gstreamed`` (whose
    ``__init__`` puts libgcc_s first): torch then aborts on the first C++ exception it throws,
    even one it catches itself, as the TorchScript exporter does.
    """
    try:
        found = ctypes.cast(ctypes.CDLL(None)._Unwind_Resume, ctypes.c_void_p).value
        own = ctypes.cast(ctypes.CDLL("libgcc_s.so.1")._Unwind_Resume, ctypes.c_void_p).value
    except (OSError, AttributeError):  # no global unwinder, or not a glibc system
        return False
    return found != own


_CHILD = """
import json, sys
from gstreamed.backends.export import export_onnx
from gstreamed.errors import GstreamedError
try:
    export_onnx(**json.loads(sys.argv[1]))
except GstreamedError as exc:
    sys.exit(str(exc))
"""


def _export_in_fresh_process(**kwargs: object) -> Path:
    """`export_onnx` in a new interpreter, which imports torch before any GStreamer library."""
    log.debug(
        "a foreign C++ unwinder is loaded (GStreamer before gstreamed); exporting in "
        "a fresh process"
    )
    package_root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p),
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(kwargs)], env=env, capture_output=True, text=True
    )
    if done.returncode:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise GstreamedError(lines[-1])
    return Path(str(kwargs["output"]))
