"""The YOLOv8 detection network in PyTorch, built from `yolov8_arch.Architecture`, and
loading its checked, fused safetensors weights (see `yolov8_arch.load_weights`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gstreamed.backends import yolov8_arch as arch
from gstreamed.backends.base import ModelInfo
from gstreamed.backends.yolov8_arch import REG_MAX, SCALES, STRIDES, Architecture
from gstreamed.backends.yolov8_weights import load_weights
from gstreamed.errors import GstreamedError

try:
    import torch
    import torch.nn.functional as F
    from torch import Tensor, nn
except ImportError:
    raise GstreamedError("the torch backend needs PyTorch: pip install '.[torch]'") from None

log = logging.getLogger(__name__)

__all__ = ["SCALES", "STRIDES", "LoadedModel", "YoloV8", "load_model"]


class Conv(nn.Module):
    """Convolution (batch norm folded into its bias) followed by SiLU."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=True)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.conv(x))


class Bottleneck(nn.Module):
    """Two 3x3 convolutions, with a residual connection when ``shortcut``."""

    def __init__(self, c: int, shortcut: bool) -> None:
        super().__init__()
        self.cv1, self.cv2 = Conv(c, c, 3), Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x: Tensor) -> Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """CSP block with two convolutions and ``n`` bottlenecks whose outputs are all kept."""

    def __init__(self, spec: arch.C2f) -> None:
        super().__init__()
        c = spec.hidden
        self.cv1 = Conv(spec.c1, 2 * c)
        self.cv2 = Conv((2 + spec.n) * c, spec.c2)
        self.m = nn.ModuleList(Bottleneck(c, spec.shortcut) for _ in range(spec.n))

    def forward(self, x: Tensor) -> Tensor:
        y = list(self.cv1(x).chunk(2, 1))
        for block in self.m:
            y.append(block(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling: three chained 5x5 max-pools, concatenated."""

    def __init__(self, spec: arch.SPPF) -> None:
        super().__init__()
        self.cv1 = Conv(spec.c1, spec.hidden)
        self.cv2 = Conv(spec.hidden * 4, spec.c2)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x: Tensor) -> Tensor:
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class DFL(nn.Module):
    """Distribution focal loss decoding: the expected bin of a softmax over REG_MAX bins."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(REG_MAX, 1, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        b, _, a = x.shape
        return self.conv(x.view(b, 4, REG_MAX, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(feats: Sequence[Tensor], offset: float = 0.5) -> tuple[Tensor, Tensor]:
    """Anchor centres [2, A] (in grid cells) and their strides [1, A] for three feature maps."""
    points, strides = [], []
    device, dtype = feats[0].device, feats[0].dtype
    for feat, stride in zip(feats, STRIDES, strict=True):
        h, w = feat.shape[2:]
        sy, sx = torch.meshgrid(
            torch.arange(h, device=device, dtype=torch.float32) + offset,
            torch.arange(w, device=device, dtype=torch.float32) + offset,
            indexing="ij",
        )
        points.append(torch.stack((sx, sy), -1).view(-1, 2))
        strides.append(torch.full((h * w, 1), stride, device=device, dtype=torch.float32))
    return (
        torch.cat(points).transpose(0, 1).to(dtype),
        torch.cat(strides).transpose(0, 1).to(dtype),
    )


class Detect(nn.Module):
    """YOLOv8 detection head: [B, 4+C, A], cx, cy, w, h in input pixels, then sigmoid scores."""

    def __init__(self, spec: arch.Detect) -> None:
        super().__init__()
        self.nc = spec.nc

        def branch(c: int, hidden: int, out: int) -> nn.Sequential:
            return nn.Sequential(
                Conv(c, hidden, 3), Conv(hidden, hidden, 3), nn.Conv2d(hidden, out, 1)
            )

        self.cv2 = nn.ModuleList(branch(c, spec.box_hidden, 4 * REG_MAX) for c in spec.ch)
        self.cv3 = nn.ModuleList(branch(c, spec.cls_hidden, spec.nc) for c in spec.ch)
        self.dfl = DFL()
        self._anchors: dict[tuple[object, ...], tuple[Tensor, Tensor]] = {}

    def anchors(self, feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """Anchors for these feature maps, cached per shape."""
        key = (*(tuple(f.shape[2:]) for f in feats), feats[0].dtype, feats[0].device)
        if key not in self._anchors:
            self._anchors[key] = make_anchors(feats)
        return self._anchors[key]

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        outs = [
            torch.cat((box(f), cls(f)), 1).flatten(2)
            for f, box, cls in zip(feats, self.cv2, self.cv3, strict=True)
        ]
        box, cls = torch.cat(outs, 2).split((4 * REG_MAX, self.nc), 1)
        anchors, strides = self.anchors(feats)
        lt, rb = self.dfl(box).chunk(2, 1)
        x1y1, x2y2 = anchors - lt, anchors + rb
        xywh = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * strides
        return torch.cat((xywh, cls.sigmoid()), 1)


class Upsample(nn.Module):
    """Nearest-neighbour upsampling by 2."""

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2.0, mode="nearest")


def _module(spec: arch.Module) -> nn.Module | None:
    """The PyTorch module of a layer; None for a concatenation."""
    match spec:
        case arch.Conv(c1, c2, k, s):
            return Conv(c1, c2, k, s)
        case arch.C2f():
            return C2f(spec)
        case arch.SPPF():
            return SPPF(spec)
        case arch.Detect():
            return Detect(spec)
        case arch.Upsample():
            return Upsample()
    return None


class YoloV8(nn.Module):
    """YOLOv8 detection network with Ultralytics layer names (``model.N``), batch norm fused.

    ``head_hidden`` is (box, class) hidden channels of the head (see `Architecture`).
    """

    def __init__(
        self, scale: str, num_classes: int, head_hidden: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self.architecture = Architecture(scale, num_classes, head_hidden)
        self.scale, self.num_classes = scale, num_classes
        self.layers = self.architecture.layers()
        modules = {str(i): _module(layer.module) for i, layer in enumerate(self.layers)}
        self.model = nn.ModuleDict({k: m for k, m in modules.items() if m is not None})

    def forward(self, x: Tensor) -> Tensor:
        outputs: list[Tensor] = []
        for index, layer in enumerate(self.layers):
            inputs = [outputs[i] for i in layer.inputs] if outputs else [x]
            if isinstance(layer.module, arch.Concat):
                outputs.append(torch.cat(inputs, 1))
            elif isinstance(layer.module, arch.Detect):
                outputs.append(self.model[str(index)](inputs))
            else:
                outputs.append(self.model[str(index)](inputs[0]))
        return outputs[-1]


@dataclass
class LoadedModel:
    """A YOLOv8 network with its weights loaded, and the facts read from its file."""

    network: YoloV8
    info: ModelInfo
    naming: str  # one of yolov8_arch.NAMINGS

    @property
    def scale(self) -> str:
        return self.network.scale


def load_model(path: str | Path) -> LoadedModel:
    """Build the network that fits the weights in ``path`` (safetensors) and load them.

    Raises GstreamedError naming any missing, mis-shaped or unexpected tensor.
    """
    weights = load_weights(path)
    a = weights.architecture
    network = YoloV8(a.scale, a.num_classes, a.head_hidden)
    network.load_state_dict({k: torch.from_numpy(v) for k, v in weights.tensors.items()})
    network.eval()
    return LoadedModel(network, weights.info, weights.naming)
