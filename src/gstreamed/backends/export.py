"""ONNX export of YOLOv8 safetensors weights, without Ultralytics or PyTorch.

The exported graph (see `onnx_graph`) has the Ultralytics interface: input ``images``
[B, 3, H, W] float, output ``output0`` [B, 4+C, A], and Ultralytics-style ``metadata_props``,
so the ORT backend (and other Ultralytics ONNX consumers) read it like an Ultralytics export.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from pathlib import Path

import onnx

from gstreamed import __version__
from gstreamed.backends.onnx_graph import build_graph
from gstreamed.backends.yolov8_weights import load_weights
from gstreamed.errors import GstreamedError
from gstreamed.outfile import PendingFile

log = logging.getLogger(__name__)


def export_onnx(
    weights: str | Path,
    output: str | Path,
    imgsz: int | Sequence[int] | None = None,
    dynamic: bool = False,
    half: bool = False,
    force: bool = False,
) -> Path:
    """Write ``weights`` (YOLOv8 .safetensors) as an ONNX model at ``output``; returns it.

    ``imgsz`` (int or (h, w)) overrides the metadata's input size; ``dynamic`` makes batch,
    height and width symbolic; ``half`` writes float16 weights, input and output. An existing
    ``output`` is only replaced with ``force``.
    """
    output = Path(output)
    if output.exists() and not force:
        raise GstreamedError(f"{output} exists; pass --force to overwrite it")
    loaded = load_weights(weights)
    info = loaded.info.resized(imgsz)
    model = build_graph(loaded.architecture, loaded.tensors, info.input_size, dynamic, half)
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
    output.parent.mkdir(parents=True, exist_ok=True)
    with PendingFile(output, overwrite=force) as pending, pending.open() as f:
        f.write(model.SerializeToString())
    log.info(
        "exported %s (%s, %s) to %s",
        weights,
        loaded.architecture.title,
        "x".join(map(str, info.input_size)),
        output,
    )
    return output
