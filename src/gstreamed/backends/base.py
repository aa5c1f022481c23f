"""The `Backend` interface every inference engine implements, and the model facts it exposes."""

from __future__ import annotations

import ast
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from gstreamed.defaults import COCO_NAMES, INPUT_SIZE
from gstreamed.errors import GstreamedError

log = logging.getLogger(__name__)


LAYOUTS = ("v8", "v5", "end2end")
# Largest input side a model may declare; beyond it (an 8192x8192 float32 frame is 805 MB,
# before any activation) the size must be asked for explicitly (imgsz, dynamic models).
MAX_INPUT_SIDE = 4096
EXPECTED = (
    "a YOLO detection head output: [B, 4+C, A] (YOLOv8/YOLO11), [B, A, 5+C] (YOLOv5) "
    "or [B, K, 6] (end-to-end)"
)


def detect_layout(shape: Sequence[int | str | None], num_classes: int, source: str) -> str:
    """Which YOLO output layout a (possibly symbolic) output shape has, or raise."""
    if len(shape) != 3:
        raise GstreamedError(f"{source}: output has shape {list(shape)}; expected {EXPECTED}")
    _, d1, d2 = shape
    if d1 == 4 + num_classes:
        return "v8"
    if d2 == 5 + num_classes:
        return "v5"
    if d2 == 6 and isinstance(d1, int) and d1 <= 1000:
        return "end2end"
    raise GstreamedError(
        f"{source}: output shape {list(shape)} does not fit {num_classes} classes; expected "
        f"{EXPECTED}. Is this a YOLO detection model with matching 'names' metadata?"
    )


@dataclass(frozen=True)
class ModelInfo:
    """Facts about a detection model, read from its metadata.

    input_size: (height, width) the network expects; names: class-name table;
    stride: the largest stride; task: Ultralytics task ("detect").
    """

    input_size: tuple[int, int]
    names: tuple[str, ...]
    stride: int = 32
    task: str = "detect"
    description: str = ""

    @classmethod
    def from_metadata(
        cls, metadata: Mapping[str, str], source: str, fallback_size: tuple[int, int] | None = None
    ) -> ModelInfo:
        """Parse Ultralytics metadata (``names``, ``imgsz``, ``stride``, ``task``).

        ``fallback_size`` is the static input size when the graph has one; a model with no
        ``names`` falls back to COCO names with a warning.
        """
        task = metadata.get("task", "detect")
        if task != "detect":
            raise GstreamedError(
                f"{source}: a '{task}' model; gstreamed runs detection models "
                "(Ultralytics task 'detect')"
            )
        names = parse_names(metadata.get("names"), source)
        size = parse_imgsz(metadata.get("imgsz")) or fallback_size or (INPUT_SIZE, INPUT_SIZE)
        stride = str(metadata.get("stride", "32")).strip()
        if not stride.isdigit() or int(stride) == 0:
            raise GstreamedError(
                f"{source}: 'stride' metadata {stride[:20]!r} is not a positive integer"
            )
        return cls(size, names, int(stride), task, metadata.get("description", ""))

    def resized(self, imgsz: int | str | Sequence[int] | None) -> ModelInfo:
        """These facts with the input size ``imgsz`` (``640``, ``"480,640"``, ``(480, 640)``)
        when given; both sides must be positive multiples of the stride."""
        if imgsz is None or imgsz == "":
            return self
        size = parse_imgsz(imgsz if isinstance(imgsz, str) else str(imgsz))
        if size is None and not isinstance(imgsz, (str, int)):
            size = parse_imgsz(",".join(str(v) for v in imgsz))
        if size is None or any(v <= 0 or v % self.stride for v in size):
            raise GstreamedError(
                f"input size {imgsz!r} must be one or two positive multiples of {self.stride}"
            )
        return dataclasses.replace(self, input_size=size)

    def metadata(self) -> dict[str, str]:
        """Ultralytics-compatible metadata strings (inverse of `from_metadata`)."""
        return {
            "names": str({i: n for i, n in enumerate(self.names)}),
            "imgsz": str(list(self.input_size)),
            "stride": str(self.stride),
            "task": self.task,
            "description": self.description,
        }


def parse_names(text: str | None, source: str) -> tuple[str, ...]:
    """Class names from an Ultralytics ``names`` string (a dict or list literal)."""
    if not text:
        log.warning("%s has no class names in its metadata; assuming the 80 COCO classes", source)
        return COCO_NAMES
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise GstreamedError(f"{source}: unreadable 'names' metadata ({exc})") from None
    if isinstance(value, dict):
        bad = [k for k in value if not _is_class_id(k)]
        if bad:
            raise GstreamedError(
                f"{source}: 'names' metadata has class ids that are not integers "
                f"({', '.join(map(repr, bad[:3]))}); expected {{0: 'person', 1: 'car', ...}}"
            )
        ids = sorted(int(k) for k in value)
        if ids != list(range(len(ids))):
            raise GstreamedError(
                f"{source}: 'names' metadata class ids {ids[:6]} are not 0..{len(ids) - 1}, "
                "each once"
            )
        return tuple(str(value[k]) for k in sorted(value, key=int))
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    raise GstreamedError(f"{source}: 'names' metadata is neither a dict nor a list")


def _is_class_id(key: object) -> bool:
    return (isinstance(key, int) and not isinstance(key, bool) and key >= 0) or (
        isinstance(key, str) and key.isdigit()
    )


def parse_imgsz(text: str | None) -> tuple[int, int] | None:
    """(height, width) from an Ultralytics ``imgsz`` string like ``[640, 640]`` or ``640``;
    None when it is not one or two integers."""
    if not text:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, int):
        value = (value, value)
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return int(value[0]), int(value[1])
    return None


def check_declared_size(size: tuple[int, int], source: str, fixed: bool) -> None:
    """Refuse an input size a model declares (not one asked for) that is not positive or over
    MAX_INPUT_SIDE; ``fixed``: the graph's input shape is static."""
    h, w = size
    if h <= 0 or w <= 0:
        raise GstreamedError(f"{source}: declares an input of {h}x{w}; sides must be positive")
    if max(h, w) > MAX_INPUT_SIDE:
        how = (
            "export it at a smaller input size"
            if fixed
            else "ask for an input size (imgsz, --imgsz) to run it at a smaller or this size"
        )
        raise GstreamedError(
            f"{source}: declares a {h}x{w} input, over {MAX_INPUT_SIDE} pixels per side "
            f"({3 * h * w * 4 / 1e6:.0f} MB per float32 frame); {how}"
        )


class Backend(Protocol):
    """An inference engine running one YOLO detection network.

    ``forward`` takes a float32 NCHW RGB tensor in 0..1 of shape (B, 3, *input_size) and
    returns the raw head output (e.g. ``[B, 4+C, A]`` for YOLOv8/11).
    """

    name: str  # "ort" or "torch"
    device: str  # "cpu", "cuda:0", ...
    info: ModelInfo
    layout: str  # head output layout, one of LAYOUTS
    threads: int | None  # CPU threads of a forward pass as loaded; None: the backend's choice

    def forward(self, tensor: np.ndarray) -> np.ndarray: ...

    def set_threads(self, threads: int | None) -> None:
        """Run each forward pass on ``threads`` CPU threads from now on (None: as loaded)."""
        ...

    @property
    def max_batch(self) -> int:
        """Largest batch ``forward`` accepts (1 for a static batch-1 graph)."""
        ...


def parse_device(device: str) -> tuple[str, int]:
    """Split ``cpu`` / ``cuda`` / ``cuda:N`` into (kind, index)."""
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()):
        raise GstreamedError(f"unknown device {device!r}: use cpu, cuda or cuda:N")
    return kind, int(index or 0)
