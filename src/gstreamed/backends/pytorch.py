"""PyTorch backend: runs the YOLOv8 network of `gstreamed.backends.yolov8` on CPU or CUDA."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gstreamed.backends.base import check_declared_size, parse_device
from gstreamed.backends.yolov8 import load_model  # raises GstreamedError sans torch
from gstreamed.errors import GstreamedError

# isort: split
import torch

log = logging.getLogger(__name__)

MAX_BATCH = 64  # eager PyTorch takes any batch; the same cap as a dynamic ONNX model


def cuda_unavailable() -> str | None:
    """Why this PyTorch cannot run on CUDA, or None when it can."""
    if torch.cuda.is_available():
        return None
    return (
        f"torch {torch.__version__} (CUDA build: {torch.version.cuda or 'none'}) sees no "
        "CUDA device"
    )


def torch_device(device: str) -> torch.device:
    """The torch device for ``cpu`` / ``cuda`` / ``cuda:N``; warns loudly and returns CPU
    when CUDA is requested but unavailable."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return torch.device("cpu")
    reason = cuda_unavailable()
    if reason:
        log.warning("CUDA requested but %s. RUNNING ON CPU.", reason)
        return torch.device("cpu")
    count = torch.cuda.device_count()
    if index >= count:
        raise GstreamedError(
            f"device cuda:{index} requested but only {count} CUDA device(s) "
            f"exist; use cuda:0..cuda:{count - 1}"
        )
    torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick the fastest
    return torch.device("cuda", index)


def _weights_of(path: Path) -> Path:
    """The weights to load for ``path``: an exported .onnx runs from the .safetensors beside it
    (as `gstreamed models pull` leaves them)."""
    if path.suffix.lower() != ".onnx":
        return path
    weights = path.with_suffix(".safetensors")
    if not weights.is_file():
        raise GstreamedError(
            f"{path}: the torch backend runs .safetensors weights and there is "
            f"no {weights.name} beside this ONNX model; pass --model "
            "WEIGHTS.safetensors or use --backend ort"
        )
    log.info("torch backend: running %s (the weights of %s)", weights, path.name)
    return weights


class TorchBackend:
    """Runs YOLOv8 detection weights (.safetensors) with PyTorch.

    ``half`` runs in float16 (CUDA only); ``threads`` sets PyTorch's intra-op thread count;
    ``imgsz`` (int or (h, w)) overrides the input size from the weights' metadata. An .onnx
    ``model`` runs from the .safetensors of the same name beside it.
    """

    name = "torch"
    layout = "v8"

    def __init__(
        self,
        model: str | Path,
        device: str = "cpu",
        half: bool = False,
        threads: int | None = None,
        imgsz: int | Sequence[int] | None = None,
    ) -> None:
        path = _weights_of(Path(model))
        self.threads = threads or None
        if threads:
            torch.set_num_threads(threads)
        self._threads_loaded = torch.get_num_threads()
        loaded = load_model(path)
        if imgsz is None:
            check_declared_size(loaded.info.input_size, str(path), fixed=False)
        self.info = loaded.info.resized(imgsz)
        self._device = torch_device(device)
        self.device = str(self._device)
        if half and self._device.type != "cuda":
            log.warning("--half needs CUDA; running float32 on CPU")
        self._dtype = torch.float16 if half and self._device.type == "cuda" else torch.float32
        self._network = loaded.network.to(self._device, self._dtype)
        self._network = self._network.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    @property
    def max_batch(self) -> int:
        """Largest batch ``forward`` accepts."""
        return MAX_BATCH

    def set_threads(self, threads: int | None) -> None:
        """Run each forward pass on ``threads`` intra-op threads (None: as loaded; PyTorch's
        setting is one for the whole process)."""
        torch.set_num_threads(threads or self._threads_loaded)

    def forward(self, tensor: np.ndarray) -> np.ndarray:
        """Raw head output [B, 4+C, A] (float32) for a float32 NCHW batch in 0..1."""
        shape = tensor.shape
        if (
            len(shape) != 4
            or shape[1] != 3
            or shape[0] > MAX_BATCH
            or shape[2] % 32
            or shape[3] % 32
        ):
            raise GstreamedError(
                f"inference failed: input shape {list(shape)}; expected "
                f"[B<={MAX_BATCH}, 3, H, W] with H and W multiples of 32"
            )
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(tensor, dtype=np.float32))
            x = x.to(self._device, self._dtype, non_blocking=True)
            out = self._network(x.contiguous(memory_format=torch.channels_last))
            return out.float().cpu().numpy()
