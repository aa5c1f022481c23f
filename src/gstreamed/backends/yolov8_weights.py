"""Reading YOLOv8 weights from safetensors without PyTorch: checked and fused float32 arrays.

The three namings of `yolov8_arch` are read and turned into one fused layout (convolutions with
a bias, batch norm folded in, Ultralytics names). The scale (n/s/m/l/x) and class count are read
from the tensor shapes. Only safetensors files are opened: pickled checkpoints can run code when
loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gstreamed.backends.base import ModelInfo
from gstreamed.backends.yolov8_arch import BN_EPS, BN_PARTS, DETECT, SCALES, Architecture, renamer
from gstreamed.defaults import COCO_NAMES
from gstreamed.errors import GstreamedError

log = logging.getLogger(__name__)


@dataclass
class Weights:
    """Checked YOLOv8 weights: fused float32 tensors with Ultralytics names, and file facts.

    ``tensors`` names each ``block`` convolution ``NAME.conv.weight`` / ``NAME.conv.bias``.
    """

    architecture: Architecture
    tensors: dict[str, np.ndarray]
    info: ModelInfo
    naming: str  # one of NAMINGS

    @property
    def scale(self) -> str:
        return self.architecture.scale


def load_weights(path: str | Path) -> Weights:
    """Read, check and fuse the YOLOv8 weights in ``path`` (safetensors).

    Raises GstreamedError naming any missing, mis-shaped or unexpected tensor.
    """
    path = Path(path)
    tensors, metadata = read_safetensors(path)
    naming = detect_naming(tensors, path)
    architecture = infer_architecture(tensors, renamer(naming), path)
    check_tensors(tensors, architecture.tensor_shapes(naming), path, architecture.title)
    fused = fuse_tensors(tensors, architecture, naming)
    info = model_info(metadata, architecture.num_classes, naming, path)
    log.info("%s: %s, %s naming", path, architecture.title, naming)
    return Weights(architecture, fused, info, naming)


def read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All tensors of a safetensors file, as float32, and its header metadata."""
    from safetensors import SafetensorError, safe_open

    if path.suffix.lower() in (".pt", ".pth", ".ckpt", ".bin"):
        raise GstreamedError(
            f"{path}: pickled PyTorch checkpoints are not loaded (unpickling can run code); "
            "convert the weights to .safetensors, or export an ONNX model and use --backend ort"
        )
    if not path.is_file():
        raise GstreamedError(f"model not found: {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k).astype(np.float32) for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise GstreamedError(f"{path}: not a readable safetensors file ({exc})") from None
    return tensors, metadata


def detect_naming(tensors: Mapping[str, np.ndarray], path: Path) -> str:
    """Which of NAMINGS the tensor names follow."""
    if "net.b1.0.conv.weight" in tensors:
        return "candle"
    if "model.0.conv.weight" in tensors:
        return "ultralytics-bn" if "model.0.bn.weight" in tensors else "ultralytics-fused"
    raise GstreamedError(
        f"{path}: no YOLOv8 weights found (expected a tensor 'model.0.conv.weight' with "
        "Ultralytics names or 'net.b1.0.conv.weight' with candle names)"
    )


def infer_architecture(
    tensors: Mapping[str, np.ndarray], rename: Callable[[str], str], path: Path
) -> Architecture:
    """Scale, class count and head hidden channels read from the tensor shapes.

    ``rename`` maps an Ultralytics tensor name to the file's naming.
    """

    def shape(key: str) -> tuple[int, ...]:
        name = rename(key)
        if name not in tensors:
            raise GstreamedError(
                f"{path}: missing tensor '{name}'; is this a YOLOv8 detection model?"
            )
        return tuple(tensors[name].shape)

    stem = shape("model.0.conv.weight")[0]
    scale = next((k for k, s in SCALES.items() if s.channels(64) == stem), None)
    if scale is None:
        widths = ", ".join(f"{k}: {s.channels(64)}" for k, s in SCALES.items())
        raise GstreamedError(
            f"{path}: first convolution has {stem} output channels, which "
            f"fits no YOLOv8 scale ({widths})"
        )
    head = f"model.{DETECT}"
    num_classes = shape(f"{head}.cv3.0.2.weight")[0]
    hidden = (shape(f"{head}.cv2.0.0.conv.weight")[0], shape(f"{head}.cv3.0.0.conv.weight")[0])
    return Architecture(scale, num_classes, hidden)


def check_tensors(
    tensors: Mapping[str, np.ndarray],
    expected: Mapping[str, tuple[int, ...]],
    path: Path,
    what: str,
) -> None:
    """Raise GstreamedError for the first missing, mis-shaped or unexpected tensor."""
    for name, shape in expected.items():
        if name not in tensors:
            raise GstreamedError(
                f"{path}: missing tensor '{name}' (expected shape {list(shape)} for {what})"
            )
        if tuple(tensors[name].shape) != shape:
            raise GstreamedError(
                f"{path}: tensor '{name}' has shape "
                f"{list(tensors[name].shape)}, expected {list(shape)} for {what}"
            )
    extra = sorted(
        k for k in tensors if k not in expected and not k.endswith(".num_batches_tracked")
    )
    if extra:
        more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
        raise GstreamedError(
            f"{path}: unexpected tensors {', '.join(extra[:3])}{more} for "
            f"{what}; gstreamed runs YOLOv8 detection models"
        )


def fuse_tensors(
    tensors: Mapping[str, np.ndarray], architecture: Architecture, naming: str
) -> dict[str, np.ndarray]:
    """Fused tensors with Ultralytics names from checked file tensors: renamed, batch norm
    folded into each block convolution's weight and bias."""
    source = renamer(naming)
    fused = {
        name: tensors[source(name)]
        for name in architecture.tensor_shapes("ultralytics-fused")
        if source(name) in tensors
    }
    if naming == "ultralytics-fused":
        return fused
    for conv in architecture.convolutions():
        if not conv.block:
            continue
        bn = {part: tensors[source(f"{conv.name}.bn.{part}")] for part in BN_PARTS}
        gain = bn["weight"] / np.sqrt(bn["running_var"] + np.float32(BN_EPS))
        weight = fused[f"{conv.name}.conv.weight"]
        fused[f"{conv.name}.conv.weight"] = weight * gain.reshape(-1, 1, 1, 1)
        fused[f"{conv.name}.conv.bias"] = bn["bias"] - bn["running_mean"] * gain
    return fused


def model_info(metadata: Mapping[str, str], num_classes: int, naming: str, path: Path) -> ModelInfo:
    """ModelInfo from the file's metadata; candle files (no metadata) are COCO models."""
    meta = dict(metadata)
    if "names" not in meta:
        if naming == "candle" and num_classes == len(COCO_NAMES):
            log.info(
                "%s: candle YOLOv8 weights carry no class names; using the 80 COCO "
                "classes they were trained on",
                path,
            )
            meta["names"] = str(dict(enumerate(COCO_NAMES)))
        elif num_classes != len(COCO_NAMES):
            log.warning(
                "%s has no class names in its metadata; naming its %d classes class0..class%d",
                path,
                num_classes,
                num_classes - 1,
            )
            meta["names"] = str([f"class{i}" for i in range(num_classes)])
    info = ModelInfo.from_metadata(meta, str(path))
    if len(info.names) != num_classes:
        raise GstreamedError(
            f"{path}: metadata names {len(info.names)} classes but the "
            f"weights have {num_classes}; fix the 'names' metadata"
        )
    return info
