"""ONNX Runtime backend: CPU, CUDA and TensorRT execution providers."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gstreamed.backends.base import ModelInfo, check_declared_size, detect_layout, parse_device
from gstreamed.errors import GstreamedError

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort

log = logging.getLogger(__name__)


def cuda_unavailable() -> str | None:
    """Why this onnxruntime cannot run on CUDA, or None when it can."""
    available = ort.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return None
    return (
        f"onnxruntime {ort.__version__} has no CUDAExecutionProvider "
        f"(available: {', '.join(available)})"
    )


def _providers(device: str, tensorrt: bool) -> list[str | tuple[str, dict[str, object]]]:
    """Execution providers for ``device``; warns loudly and returns CPU when CUDA is absent."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return ["CPUExecutionProvider"]
    reason = cuda_unavailable()
    if reason:
        log.warning("CUDA requested but %s; install onnxruntime-gpu. RUNNING ON CPU.", reason)
        return ["CPUExecutionProvider"]
    available = ort.get_available_providers()
    chosen: list[str | tuple[str, dict[str, object]]] = []
    if tensorrt and "TensorrtExecutionProvider" in available:
        chosen.append(("TensorrtExecutionProvider", {"device_id": index}))
    chosen.append(("CUDAExecutionProvider", {"device_id": index}))
    chosen.append("CPUExecutionProvider")
    return chosen


class OrtBackend:
    """Runs a YOLO detection ONNX model with onnxruntime.

    Validates the graph on load (one 4-D image input with 3 channels, a YOLO-shaped
    output) and reads class names / input size from Ultralytics ``metadata_props``.
    """

    name = "ort"

    def __init__(
        self,
        model: str | Path,
        device: str = "cpu",
        threads: int | None = None,
        tensorrt: bool = False,
        imgsz: int | str | Sequence[int] | None = None,
    ) -> None:
        path = Path(model)
        if not path.is_file():
            raise GstreamedError(f"model not found: {path}")
        self._path = path
        self.threads = threads or None
        self._threads_now = self.threads
        self._requested = _providers(device, tensorrt)
        self.session = self._open()
        active = self.session.get_providers()
        if self._requested[0] != "CPUExecutionProvider" and active[0] == "CPUExecutionProvider":
            log.warning("CUDA execution provider failed to initialise; RUNNING ON CPU")
        self.device = device if active[0] != "CPUExecutionProvider" else "cpu"
        self.providers = active
        self._input, self._output, self.info, self.layout = self._inspect(path, imgsz)

    def _open(self) -> ort.InferenceSession:
        """A session of the model on the requested providers with the intra-op threads of
        now."""
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self._threads_now:
            options.intra_op_num_threads = self._threads_now
        options.log_severity_level = 3
        # Idle ORT workers must sleep, not spin: in a pipeline the decoder, converters and
        # encoder need those cores (measured 1.4-1.9x end-to-end FPS on 2 cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        try:
            return ort.InferenceSession(str(self._path), options, providers=self._requested)
        except Exception as exc:  # onnxruntime raises several private exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GstreamedError(f"{self._path}: not a loadable ONNX model ({first})") from None

    def set_threads(self, threads: int | None) -> None:
        """Run each forward pass on ``threads`` intra-op threads (None: as loaded): a new
        session (tens of ms for a YOLO model); passes already running finish on the old
        one."""
        threads = threads or self.threads
        if threads != self._threads_now:
            self._threads_now = threads
            self.session = self._open()

    def _inspect(
        self, path: Path, imgsz: int | str | Sequence[int] | None
    ) -> tuple[str, str, ModelInfo, str]:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].shape[1] not in (3, "3"):
            shapes = [list(i.shape) for i in inputs]
            raise GstreamedError(
                f"{path}: inputs {shapes} are not one image tensor "
                "[B, 3, H, W]; is this a YOLO detection model?"
            )
        if "float" not in inputs[0].type:
            raise GstreamedError(f"{path}: input type {inputs[0].type}; expected float")
        _, _, h, w = inputs[0].shape
        static = (h, w) if isinstance(h, int) and isinstance(w, int) else None
        meta = self.session.get_modelmeta().custom_metadata_map
        info = ModelInfo.from_metadata(meta, str(path), static)
        if static and static != info.input_size:
            info = ModelInfo(static, info.names, info.stride, info.task, info.description)
        if imgsz is None or imgsz == "":
            check_declared_size(info.input_size, str(path), fixed=static is not None)
        resized = info.resized(imgsz)
        if static and resized.input_size != static:
            raise GstreamedError(
                f"{path}: the input size is fixed to {static[0]}x{static[1]}; another input "
                "size needs a dynamic-shape model ('gstreamed export --dynamic')"
            )
        info = resized
        layout = detect_layout(outputs[0].shape, len(info.names), str(path))
        self._half = "float16" in inputs[0].type
        self._batch = inputs[0].shape[0] if isinstance(inputs[0].shape[0], int) else 64
        return inputs[0].name, outputs[0].name, info, layout

    @property
    def max_batch(self) -> int:
        """Largest batch ``forward`` accepts."""
        return self._batch

    def forward(self, tensor: np.ndarray) -> np.ndarray:
        """Raw head output for a float32 NCHW batch."""
        feed = tensor.astype(np.float16) if self._half else tensor
        try:
            (out,) = self.session.run([self._output], {self._input: feed})
        except Exception as exc:  # shape errors surface here for mis-sized dynamic models
            raise GstreamedError(f"inference failed: {str(exc).splitlines()[0]}") from None
        return np.asarray(out, dtype=np.float32)
