"""The YOLOv8 detection network in PyTorch, and loading its weights from safetensors.

Three weight namings are read, all turned into one fused layout (convolutions with a bias,
batch norm folded in) before loading:

* ``ultralytics-bn``: Ultralytics state-dict names with separate batch norm
  (``model.0.conv.weight``, ``model.0.bn.weight/bias/running_mean/running_var``);
* ``ultralytics-fused``: the same names with batch norm already folded
  (``model.0.conv.weight``, ``model.0.conv.bias``);
* ``candle``: the names of candle's yolo-v8 example (``net.b1.0.conv.weight``,
  ``net.b1.0.bn.*``, ``fpn.n1.bottleneck.0.cv1.*``, ``head.cv2.0.2.weight``, ...).

The scale (n/s/m/l/x) and class count are read from the tensor shapes. Only safetensors files
are opened: pickled checkpoints can run code when loaded.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gstreamed.backends.base import ModelInfo
from gstreamed.defaults import COCO_NAMES
from gstreamed.errors import GstreamedError

try:
    import torch
    import torch.nn.functional as F
    from torch import Tensor, nn
except ImportError:
    raise GstreamedError("the torch backend needs PyTorch: pip install '.[torch]'") from None

log = logging.getLogger(__name__)

REG_MAX = 16  # distribution-focal-loss bins per box side
STRIDES = (8, 16, 32)
BN_EPS = 1e-3  # Ultralytics and candle both build BatchNorm2d with eps=0.001
NAMINGS = ("ultralytics-bn", "ultralytics-fused", "candle")

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

    def __init__(self, c1: int, c2: int, n: int, shortcut: bool) -> None:
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c)
        self.cv2 = Conv((2 + n) * self.c, c2)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x: Tensor) -> Tensor:
        y = list(self.cv1(x).chunk(2, 1))
        for block in self.m:
            y.append(block(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling: three chained 5x5 max-pools, concatenated."""

    def __init__(self, c1: int, c2: int) -> None:
        super().__init__()
        hidden = c1 // 2
        self.cv1 = Conv(c1, hidden)
        self.cv2 = Conv(hidden * 4, c2)
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
        # float32 first: the ONNX exporter cannot trace a float16 arange
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

    def __init__(self, nc: int, ch: Sequence[int], box_hidden: int, cls_hidden: int) -> None:
        super().__init__()
        self.nc = nc
        self.cv2 = nn.ModuleList(
            nn.Sequential(
                Conv(c, box_hidden, 3),
                Conv(box_hidden, box_hidden, 3),
                nn.Conv2d(box_hidden, 4 * REG_MAX, 1),
            )
            for c in ch
        )
        self.cv3 = nn.ModuleList(
            nn.Sequential(
                Conv(c, cls_hidden, 3),
                Conv(cls_hidden, cls_hidden, 3),
                nn.Conv2d(cls_hidden, nc, 1),
            )
            for c in ch
        )
        self.dfl = DFL()
        self._anchors: dict[tuple[object, ...], tuple[Tensor, Tensor]] = {}

    def anchors(self, feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """Anchors for these feature maps, cached per shape except while tracing for export."""
        if torch.jit.is_tracing():
            return make_anchors(feats)
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


class YoloV8(nn.Module):
    """YOLOv8 detection network with Ultralytics layer names (``model.N``), batch norm fused.

    ``head_hidden`` is (box, class) hidden channels of the head; by default Ultralytics'
    ``max(16, c/4, 64)`` and ``max(c, min(nc, 100))`` with c the P3 channels.
    """

    def __init__(
        self, scale: str, num_classes: int, head_hidden: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        if scale not in SCALES:
            raise GstreamedError(
                f"unknown YOLOv8 scale {scale!r}; choose one of {', '.join(SCALES)}"
            )
        s = SCALES[scale]
        c1, c2, c3, c4, c5 = (s.channels(c) for c in (64, 128, 256, 512, 1024))
        n3, n6 = s.repeats(3), s.repeats(6)
        box_hidden, cls_hidden = head_hidden or (
            max(16, c3 // 4, 4 * REG_MAX),
            max(c3, min(num_classes, 100)),
        )
        self.scale, self.num_classes = scale, num_classes
        layers: dict[int, nn.Module] = {
            0: Conv(3, c1, 3, 2),
            1: Conv(c1, c2, 3, 2),
            2: C2f(c2, c2, n3, True),
            3: Conv(c2, c3, 3, 2),
            4: C2f(c3, c3, n6, True),
            5: Conv(c3, c4, 3, 2),
            6: C2f(c4, c4, n6, True),
            7: Conv(c4, c5, 3, 2),
            8: C2f(c5, c5, n3, True),
            9: SPPF(c5, c5),
            12: C2f(c5 + c4, c4, n3, False),
            15: C2f(c4 + c3, c3, n3, False),
            16: Conv(c3, c3, 3, 2),
            18: C2f(c3 + c4, c4, n3, False),
            19: Conv(c4, c4, 3, 2),
            21: C2f(c4 + c5, c5, n3, False),
            22: Detect(num_classes, (c3, c4, c5), box_hidden, cls_hidden),
        }
        self.model = nn.ModuleDict({str(i): layer for i, layer in layers.items()})

    def forward(self, x: Tensor) -> Tensor:
        m = self.model
        p3 = m["4"](m["3"](m["2"](m["1"](m["0"](x)))))
        p4 = m["6"](m["5"](p3))
        p5 = m["9"](m["8"](m["7"](p4)))
        h12 = m["12"](torch.cat((_upsample(p5), p4), 1))
        h15 = m["15"](torch.cat((_upsample(h12), p3), 1))
        h18 = m["18"](torch.cat((m["16"](h15), h12), 1))
        h21 = m["21"](torch.cat((m["19"](h18), p5), 1))
        return m["22"]((h15, h18, h21))


def _upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


@dataclass
class LoadedModel:
    """A YOLOv8 network with its weights loaded, and the facts read from its file."""

    network: YoloV8
    info: ModelInfo
    naming: str  # one of NAMINGS

    @property
    def scale(self) -> str:
        return self.network.scale


def load_model(path: str | Path) -> LoadedModel:
    """Build the network that fits the weights in ``path`` (safetensors) and load them.

    Raises GstreamedError naming any missing, mis-shaped or unexpected tensor.
    """
    path = Path(path)
    tensors, metadata = read_safetensors(path)
    naming = detect_naming(tensors, path)
    scale, num_classes, head_hidden = infer_architecture(tensors, renamer(naming), path)
    network = YoloV8(scale, num_classes, head_hidden)
    check_tensors(
        tensors,
        expected_tensors(network, naming),
        path,
        f"YOLOv8{scale} with {num_classes} classes",
    )
    network.load_state_dict(fuse_tensors(tensors, network, naming))
    network.eval()
    info = model_info(metadata, num_classes, naming, path)
    log.info("%s: YOLOv8%s, %d classes, %s naming", path, scale, num_classes, naming)
    return LoadedModel(network, info, naming)


def read_safetensors(path: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
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
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k).float() for k in f.keys()}  # noqa: SIM118 (not iterable)
    except (SafetensorError, OSError, ValueError) as exc:
        raise GstreamedError(f"{path}: not a readable safetensors file ({exc})") from None
    return tensors, metadata


def detect_naming(tensors: Mapping[str, Tensor], path: Path) -> str:
    """Which of NAMINGS the tensor names follow."""
    if "net.b1.0.conv.weight" in tensors:
        return "candle"
    if "model.0.conv.weight" in tensors:
        return "ultralytics-bn" if "model.0.bn.weight" in tensors else "ultralytics-fused"
    raise GstreamedError(
        f"{path}: no YOLOv8 weights found (expected a tensor 'model.0.conv.weight' with "
        "Ultralytics names or 'net.b1.0.conv.weight' with candle names)"
    )


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


def infer_architecture(
    tensors: Mapping[str, Tensor], rename: Callable[[str], str], path: Path
) -> tuple[str, int, tuple[int, int]]:
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
    num_classes = shape("model.22.cv3.0.2.weight")[0]
    hidden = (shape("model.22.cv2.0.0.conv.weight")[0], shape("model.22.cv3.0.0.conv.weight")[0])
    return scale, num_classes, hidden


def _conv_blocks(network: nn.Module) -> list[str]:
    """Names of the network's `Conv` blocks (those that carry batch norm before fusing)."""
    return [name for name, module in network.named_modules() if isinstance(module, Conv)]


def expected_tensors(network: YoloV8, naming: str) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes a file with ``naming`` must hold for ``network``."""
    shapes = {k: tuple(v.shape) for k, v in network.state_dict().items()}
    if naming != "ultralytics-fused":
        for block in _conv_blocks(network):
            out = shapes.pop(f"{block}.conv.bias")
            shapes.update({f"{block}.bn.{part}": out for part in BN_PARTS})
    rename = renamer(naming)
    return {rename(k): v for k, v in shapes.items()}


def check_tensors(
    tensors: Mapping[str, Tensor], expected: Mapping[str, tuple[int, ...]], path: Path, what: str
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


def fuse_tensors(tensors: Mapping[str, Tensor], network: YoloV8, naming: str) -> dict[str, Tensor]:
    """The network's state dict from checked file tensors: renamed, batch norm folded."""
    source = renamer(naming)
    state = {k: tensors[source(k)] for k in network.state_dict() if source(k) in tensors}
    if naming == "ultralytics-fused":
        return state
    for block in _conv_blocks(network):
        bn = {part: tensors[source(f"{block}.bn.{part}")] for part in BN_PARTS}
        scale = bn["weight"] / torch.sqrt(bn["running_var"] + BN_EPS)
        weight = state[f"{block}.conv.weight"]
        state[f"{block}.conv.weight"] = weight * scale.view(-1, 1, 1, 1)
        state[f"{block}.conv.bias"] = bn["bias"] - bn["running_mean"] * scale
    return state


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
