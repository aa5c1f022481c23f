"""The detection parameter tables: which model runs how (`ModelParams`) and which of its
boxes are kept (`DetectionParams`). The CLI options, the ``gstreamed_detect`` properties and
the Python API all take their names, defaults and bounds from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gstreamed.backends import BACKENDS, Backend, load_backend
from gstreamed.backends.zoo import resolve_model
from gstreamed.defaults import MODEL_ENV
from gstreamed.errors import GstreamedError
from gstreamed.params import ParamSet, param


@dataclass(frozen=True, eq=False)
class ModelParams(ParamSet):
    """The model file and how to run it."""

    OWNER: ClassVar[str] = "model"

    model: str | None = param(
        None,
        "YOLO detection model (.onnx; .safetensors with the torch backend); default: "
        f"${MODEL_ENV}, else the cached default model",
    )
    backend: str = param("ort", "inference backend: ort (ONNX Runtime) or torch", choices=BACKENDS)
    device: str = param("cpu", "inference device: cpu, cuda or cuda:N")
    threads: int = param(
        0, "CPU threads for inference (0: the backend's choice)", minimum=0, maximum=1024
    )
    half: bool = param(False, "fp16 inference (torch backend on CUDA)")
    imgsz: str = param(
        "",
        "network input size N or H,W, multiples of the stride, for dynamic-shape models "
        "(default: the model's)",
        sequence=True,
    )

    def load(self) -> Backend:
        """Resolve the model file (see `resolve_model`) and open it with the backend."""
        options: dict[str, object] = {"imgsz": self.imgsz or None}
        if self.threads:
            options["threads"] = self.threads
        if self.half:
            if self.backend != "torch":
                raise GstreamedError(
                    "half precision runs on the torch backend; for ort, export an fp16 ONNX "
                    "model ('gstreamed export --half')"
                )
            options["half"] = True
        return load_backend(resolve_model(self.model), self.backend, self.device, **options)


@dataclass(frozen=True, eq=False)
class DetectionParams(ParamSet):
    """Which of the network's boxes become detections."""

    OWNER: ClassVar[str] = "detection"

    conf: float = param(0.25, "confidence threshold", minimum=0.0, maximum=1.0)
    iou: float = param(0.45, "NMS IoU threshold", minimum=0.0, maximum=1.0)
    classes: str = param(
        "",
        "keep only these classes, e.g. person,car (names or ids; default: all)",
        sequence=True,
    )
    max_det: int = param(300, "maximum detections per frame", minimum=1, maximum=10000)
    agnostic_nms: bool = param(False, "class-agnostic NMS: one box per object whatever its class")
