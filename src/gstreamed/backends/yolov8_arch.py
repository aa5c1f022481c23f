"""The YOLOv8 detection architecture and the names of its weights, without PyTorch.

`Architecture.layers` describes the network as Ultralytics' ``yolov8.yaml`` does (a layer
list, each reading earlier layers' outputs); the PyTorch network (`yolov8.YoloV8`), the ONNX
graph builder (`onnx_graph`) and the weights checks (`yolov8_weights`) all follow it.

Three weight namings exist (see `yolov8_weights` for reading them):

* ``ultralytics-bn``: Ultralytics state-dict names with separate batch norm
  (``model.0.conv.weight``, ``model.0.bn.weight/bias/running_mean/running_var``);
* ``ultralytics-fused``: the same names with batch norm already folded
  (``model.0.conv.weight``, ``model.0.conv.bias``);
* ``candle``: the names of candle's yolo-v8 example (``net.b1.0.conv.weight``,
  ``net.b1.0.bn.*``, ``fpn.n1.bottleneck.0.cv1.*``, ``head.cv2.0.2.weight``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gstreamed.errors import GstreamedError

REG_MAX = 16  # distribution-focal-loss bins per box side
STRIDES = (8, 16, 32)
BN_EPS = 1e-3  # Ultralytics and candle both build BatchNorm2d with eps=0.001
NAMINGS = ("ultralytics-bn", "ultralytics-fused", "candle")
DETECT = 22  # index of the detection head

# Ultralytics layer index -> candle module path (the layers without weights have no entry).
CANDLE_PREFIXES = {
    "model.0": "net.b1.0",
    "model.1": "net.b1.1",
    "model.2": "net.b2.0",
    "model.3": "net.b2.1",
    "model.4": "net.b2.2",
    "model.5": "net.b3.0",
    "model.6": "net.b3.1",
    "model.7": "net.b4.0",
    "model.8": "net.b4.1",
    "model.9": "net.b5.0",
    "model.12": "fpn.n1",
    "model.15": "fpn.n2",
    "model.16": "fpn.n3",
    "model.18": "fpn.n4",
    "model.19": "fpn.n5",
    "model.21": "fpn.n6",
    "model.22": "head",
}
BN_PARTS = ("weight", "bias", "running_mean", "running_var")


@dataclass(frozen=True)
class Scale:
    """Ultralytics model-scale multiples: layer repeats, channel width, channel cap."""

    depth: float
    width: float
    max_channels: int

    def channels(self, base: int) -> int:
        """Channels of a layer declared with ``base`` channels (rounded up to a multiple of 8)."""
        return math.ceil(min(base, self.max_channels) * self.width / 8) * 8

    def repeats(self, base: int) -> int:
        """Bottlenecks in a C2f declared with ``base`` repeats."""
        return max(round(base * self.depth), 1)


SCALES: dict[str, Scale] = {
    "n": Scale(0.33, 0.25, 1024),
    "s": Scale(0.33, 0.50, 1024),
    "m": Scale(0.67, 0.75, 768),
    "l": Scale(1.00, 1.00, 512),
    "x": Scale(1.00, 1.25, 512),
}


@dataclass(frozen=True)
class Conv:
    """Convolution (batch norm folded into its bias), then SiLU."""

    c1: int
    c2: int
    k: int = 1
    s: int = 1


@dataclass(frozen=True)
class C2f:
    """CSP block: ``cv1`` split in two, ``n`` chained bottlenecks, all concatenated, ``cv2``."""

    c1: int
    c2: int
    n: int
    shortcut: bool

    @property
    def hidden(self) -> int:
        return self.c2 // 2


@dataclass(frozen=True)
class SPPF:
    """Spatial pyramid pooling: ``cv1``, three chained 5x5 max-pools, concatenated, ``cv2``."""

    c1: int
    c2: int

    @property
    def hidden(self) -> int:
        return self.c1 // 2


@dataclass(frozen=True)
class Upsample:
    """Nearest-neighbour upsampling by 2."""


@dataclass(frozen=True)
class Concat:
    """Channel concatenation of the inputs."""


@dataclass(frozen=True)
class Detect:
    """Head: per level box (cv2) and class (cv3) branches of two Convs and a plain convolution,
    then DFL decoding (``dfl``) into [B, 4+C, A] boxes (cx, cy, w, h) and sigmoid scores."""

    nc: int
    ch: tuple[int, ...]
    box_hidden: int
    cls_hidden: int


Module = Conv | C2f | SPPF | Upsample | Concat | Detect


@dataclass(frozen=True)
class Layer:
    """A module and the layers it reads (-1: the previous one), as in ``yolov8.yaml``."""

    module: Module
    inputs: tuple[int, ...] = (-1,)


@dataclass(frozen=True)
class ConvWeights:
    """One convolution's tensors (Ultralytics names): ``block`` Convs carry batch norm before
    fusing (``NAME.conv.weight``, ``NAME.bn.*``), plain ones are ``NAME.weight`` (+ ``.bias``)."""

    name: str
    c1: int
    c2: int
    k: int
    block: bool = True
    bias: bool = True


@dataclass(frozen=True)
class Architecture:
    """A YOLOv8 detection network: scale, class count, head hidden channels (box, class).

    The head's hidden channels default to Ultralytics' ``max(16, c/4, 64)`` and
    ``max(c, min(nc, 100))`` with c the P3 channels.
    """

    scale: str
    num_classes: int
    head_hidden: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise GstreamedError(
                f"unknown YOLOv8 scale {self.scale!r}; choose one of {', '.join(SCALES)}"
            )

    def layers(self) -> list[Layer]:
        """The network, layer by layer (index = Ultralytics ``model.N``)."""
        s = SCALES[self.scale]
        c1, c2, c3, c4, c5 = (s.channels(c) for c in (64, 128, 256, 512, 1024))
        n3, n6 = s.repeats(3), s.repeats(6)
        box_hidden, cls_hidden = self.head_hidden or (
            max(16, c3 // 4, 4 * REG_MAX),
            max(c3, min(self.num_classes, 100)),
        )
        return [
            Layer(Conv(3, c1, 3, 2)),  # 0
            Layer(Conv(c1, c2, 3, 2)),
            Layer(C2f(c2, c2, n3, True)),
            Layer(Conv(c2, c3, 3, 2)),
            Layer(C2f(c3, c3, n6, True)),  # 4: P3
            Layer(Conv(c3, c4, 3, 2)),
            Layer(C2f(c4, c4, n6, True)),  # 6: P4
            Layer(Conv(c4, c5, 3, 2)),
            Layer(C2f(c5, c5, n3, True)),
            Layer(SPPF(c5, c5)),  # 9: P5
            Layer(Upsample()),
            Layer(Concat(), (-1, 6)),
            Layer(C2f(c5 + c4, c4, n3, False)),  # 12
            Layer(Upsample()),
            Layer(Concat(), (-1, 4)),
            Layer(C2f(c4 + c3, c3, n3, False)),  # 15: P3 out
            Layer(Conv(c3, c3, 3, 2)),
            Layer(Concat(), (-1, 12)),
            Layer(C2f(c3 + c4, c4, n3, False)),  # 18: P4 out
            Layer(Conv(c4, c4, 3, 2)),
            Layer(Concat(), (-1, 9)),
            Layer(C2f(c4 + c5, c5, n3, False)),  # 21: P5 out
            Layer(Detect(self.num_classes, (c3, c4, c5), box_hidden, cls_hidden), (15, 18, 21)),
        ]

    def convolutions(self) -> Iterator[ConvWeights]:
        """Every convolution of the network, in state-dict order."""
        for index, layer in enumerate(self.layers()):
            yield from module_convolutions(f"model.{index}", layer.module)

    def tensor_shapes(self, naming: str) -> dict[str, tuple[int, ...]]:
        """Tensor names and shapes a weights file with ``naming`` must hold."""
        rename = renamer(naming)
        shapes: dict[str, tuple[int, ...]] = {}
        for conv in self.convolutions():
            prefix = f"{conv.name}.conv" if conv.block else conv.name
            shapes[rename(f"{prefix}.weight")] = (conv.c2, conv.c1, conv.k, conv.k)
            if conv.block and naming != "ultralytics-fused":
                shapes.update({rename(f"{conv.name}.bn.{p}"): (conv.c2,) for p in BN_PARTS})
            elif conv.bias:
                shapes[rename(f"{prefix}.bias")] = (conv.c2,)
        return shapes

    @property
    def title(self) -> str:
        return f"YOLOv8{self.scale} with {self.num_classes} classes"


def module_convolutions(name: str, module: Module) -> Iterator[ConvWeights]:
    """The convolutions of one module named ``name``, as its PyTorch module names them."""
    match module:
        case Conv(c1, c2, k):
            yield ConvWeights(name, c1, c2, k)
        case C2f(c1, c2, n):
            c = module.hidden
            yield ConvWeights(f"{name}.cv1", c1, 2 * c, 1)
            yield ConvWeights(f"{name}.cv2", (2 + n) * c, c2, 1)
            for j in range(n):
                yield ConvWeights(f"{name}.m.{j}.cv1", c, c, 3)
                yield ConvWeights(f"{name}.m.{j}.cv2", c, c, 3)
        case SPPF(c1, c2):
            yield ConvWeights(f"{name}.cv1", c1, module.hidden, 1)
            yield ConvWeights(f"{name}.cv2", module.hidden * 4, c2, 1)
        case Detect(nc, ch, box_hidden, cls_hidden):
            for branch, hidden, out in (("cv2", box_hidden, 4 * REG_MAX), ("cv3", cls_hidden, nc)):
                for level, c in enumerate(ch):
                    prefix = f"{name}.{branch}.{level}"
                    yield ConvWeights(f"{prefix}.0", c, hidden, 3)
                    yield ConvWeights(f"{prefix}.1", hidden, hidden, 3)
                    yield ConvWeights(f"{prefix}.2", hidden, out, 1, block=False)
            yield ConvWeights(f"{name}.dfl.conv", REG_MAX, 1, 1, block=False, bias=False)


def _candle_name(key: str) -> str:
    """The candle name of an Ultralytics tensor name."""
    parts = key.split(".", 2)
    prefix = CANDLE_PREFIXES.get(".".join(parts[:2])) if len(parts) == 3 else None
    if prefix is None:
        return key
    return prefix + f".{parts[2]}".replace(".m.", ".bottleneck.")


def _same_name(key: str) -> str:
    return key


def renamer(naming: str) -> Callable[[str], str]:
    """Maps an Ultralytics tensor name to its name in a file with ``naming``."""
    return _candle_name if naming == "candle" else _same_name
