"""The YOLOv8 ONNX graph, built node by node from `yolov8_arch` and fused numpy weights.

No PyTorch: the layer list of `Architecture.layers` is walked once, each module becoming
standard ONNX operators (Conv, Sigmoid, Mul, Split, Concat, MaxPool, Resize, Softmax, ...).
Anchors are computed in the graph from the feature-map shapes, so one graph serves every
input size; onnxruntime folds them into constants for a static input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from gstreamed.backends import yolov8_arch as arch
from gstreamed.backends.yolov8_arch import REG_MAX, STRIDES, Architecture

OPSET = 17  # read by onnxruntime >= 1.14 and TensorRT >= 8.6
IR_VERSION = 8  # the IR version of opset 17


class _Graph:
    """Nodes and initializers of a graph under construction, with unique value names."""

    def __init__(self, tensors: Mapping[str, np.ndarray], dtype: type[np.floating]) -> None:
        self.tensors = tensors
        self.dtype = np.dtype(dtype)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()

    def _unique(self, hint: str) -> str:
        name, n = hint, 1
        while name in self._names:
            name, n = f"{hint}_{n}", n + 1
        self._names.add(name)
        return name

    def const(self, value: np.ndarray, hint: str) -> str:
        """An initializer holding ``value`` in the graph's float dtype."""
        return self.raw(value.astype(self.dtype), hint)

    def raw(self, value: np.ndarray, hint: str) -> str:
        """An initializer holding ``value`` as it is."""
        name = self._unique(hint)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, outputs: int = 1, **attrs: Any) -> str:
        """Append a node; returns its (first) output name."""
        names = [self._unique(f"{hint}/{op_type}" + (f"_{i}" if i else "")) for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=names[0], **attrs))
        return names[0]

    def outputs(self) -> list[str]:
        """Output names of the last node."""
        return list(self.nodes[-1].output)

    def conv(self, x: str, name: str, k: int, s: int = 1, block: bool = True) -> str:
        """Convolution ``name`` (fused weights), followed by SiLU when ``block``."""
        prefix = f"{name}.conv" if block else name
        inputs = [x, self.const(self.tensors[f"{prefix}.weight"], f"{prefix}.weight")]
        if f"{prefix}.bias" in self.tensors:
            inputs.append(self.const(self.tensors[f"{prefix}.bias"], f"{prefix}.bias"))
        pad = k // 2
        y = self.op("Conv", inputs, name, kernel_shape=[k, k], strides=[s, s], pads=[pad] * 4)
        return self.op("Mul", [y, self.op("Sigmoid", [y], name)], name) if block else y

    def ints(self, values: list[int], hint: str) -> str:
        return self.raw(np.array(values, np.int64), hint)


def _c2f(g: _Graph, x: str, name: str, spec: arch.C2f) -> str:
    c = spec.hidden
    g.op("Split", [g.conv(x, f"{name}.cv1", 1), g.ints([c, c], "split")], name, 2, axis=1)
    ys = g.outputs()
    for j in range(spec.n):
        y = g.conv(g.conv(ys[-1], f"{name}.m.{j}.cv1", 3), f"{name}.m.{j}.cv2", 3)
        ys.append(g.op("Add", [ys[-1], y], f"{name}.m.{j}") if spec.shortcut else y)
    return g.conv(g.op("Concat", ys, name, axis=1), f"{name}.cv2", 1)


def _sppf(g: _Graph, x: str, name: str) -> str:
    ys = [g.conv(x, f"{name}.cv1", 1)]
    for _ in range(3):
        ys.append(g.op("MaxPool", [ys[-1]], name, kernel_shape=[5, 5], pads=[2] * 4))
    return g.conv(g.op("Concat", ys, name, axis=1), f"{name}.cv2", 1)


def _upsample(g: _Graph, x: str, name: str) -> str:
    scales = g.raw(np.array([1, 1, 2, 2], np.float32), "scales")
    return g.op(
        "Resize",
        [x, "", scales],
        name,
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )


def _anchors(g: _Graph, feature: str, name: str) -> str:
    """Cell centres [1, 2, h*w] (x, y in grid cells) of a feature map [B, C, h, w]."""
    hw = g.op("Shape", [feature], name, start=2)
    zero, one = g.raw(np.array(0, np.int64), "zero"), g.raw(np.array(1, np.int64), "one")
    half = g.const(np.array(0.5), "half")
    centres = []
    for axis in (2, 3):
        size = g.op("Squeeze", [g.op("Shape", [feature], name, start=axis, end=axis + 1)], name)
        cells = g.op("Cast", [g.op("Range", [zero, size, one], name)], name, to=_onnx_type(g))
        centres.append(g.op("Add", [cells, half], name))
    ys = g.op("Unsqueeze", [centres[0], g.ints([1], "axis1")], name)  # [h, 1]
    grid = [g.op("Expand", [c, hw], name) for c in (centres[1], ys)]  # x then y, [h, w] each
    axis0 = g.ints([0], "axis0")
    stacked = g.op("Concat", [g.op("Unsqueeze", [c, axis0], name) for c in grid], name, axis=0)
    return g.op("Reshape", [stacked, g.ints([1, 2, -1], "anchor_shape")], name)


def _detect(g: _Graph, features: list[str], name: str, spec: arch.Detect) -> str:
    dfl = g.const(g.tensors[f"{name}.dfl.conv.weight"].reshape(1, 1, REG_MAX, 1), "dfl")
    levels = []
    for level, (f, stride) in enumerate(zip(features, STRIDES, strict=True)):
        branch = []
        for kind in ("cv2", "cv3"):
            prefix = f"{name}.{kind}.{level}"
            y = g.conv(g.conv(f, f"{prefix}.0", 3), f"{prefix}.1", 3)
            branch.append(g.conv(y, f"{prefix}.2", 1, block=False))
        box, cls = branch
        bins = g.op("Reshape", [box, g.ints([0, 4, REG_MAX, -1], "bins_shape")], name)
        prob = g.op("Softmax", [bins], name, axis=2)
        weighted = g.op("Mul", [prob, dfl], name)
        dist = g.op("ReduceSum", [weighted, g.ints([2], "axis2")], name, keepdims=0)
        g.op("Split", [dist, g.ints([2, 2], "split")], name, 2, axis=1)
        lt, rb = g.outputs()
        anchors = _anchors(g, f, f"{name}.anchors.{level}")
        x1y1, x2y2 = g.op("Sub", [anchors, lt], name), g.op("Add", [anchors, rb], name)
        two = g.const(np.array(2.0), "two")
        centre = g.op("Div", [g.op("Add", [x1y1, x2y2], name), two], name)
        size = g.op("Sub", [x2y2, x1y1], name)
        xywh = g.op("Concat", [centre, size], name, axis=1)
        xywh = g.op("Mul", [xywh, g.const(np.array(float(stride)), f"stride{stride}")], name)
        flat = g.op("Reshape", [cls, g.ints([0, spec.nc, -1], "cls_shape")], name)
        scores = g.op("Sigmoid", [flat], name)
        levels.append(g.op("Concat", [xywh, scores], name, axis=1))
    return g.op("Concat", levels, name, axis=2)


def _onnx_type(g: _Graph) -> int:
    return TensorProto.FLOAT16 if g.dtype == np.float16 else TensorProto.FLOAT


def build_graph(
    architecture: Architecture,
    tensors: Mapping[str, np.ndarray],
    input_size: tuple[int, int],
    dynamic: bool = False,
    half: bool = False,
) -> onnx.ModelProto:
    """The YOLOv8 ONNX model: input ``images`` [B, 3, H, W], output ``output0`` [B, 4+C, A].

    ``tensors`` are fused weights with Ultralytics names (`yolov8_arch.Weights.tensors`);
    ``dynamic`` makes batch, height and width symbolic (``input_size`` is then unused);
    ``half`` makes weights, input and output float16.
    """
    g = _Graph(tensors, np.float16 if half else np.float32)
    outputs: list[str] = []
    for index, layer in enumerate(architecture.layers()):
        name = f"model.{index}"
        inputs = [outputs[i] for i in layer.inputs] if outputs else ["images"]
        match layer.module:
            case arch.Conv(_, _, k, s):
                y = g.conv(inputs[0], name, k, s)
            case arch.C2f() as spec:
                y = _c2f(g, inputs[0], name, spec)
            case arch.SPPF():
                y = _sppf(g, inputs[0], name)
            case arch.Upsample():
                y = _upsample(g, inputs[0], name)
            case arch.Concat():
                y = g.op("Concat", inputs, name, axis=1)
            case arch.Detect() as spec:
                y = _detect(g, inputs, name, spec)
        outputs.append(y)
    g.nodes[-1].output[0] = "output0"
    h, w = input_size
    anchors = sum((h // s) * (w // s) for s in STRIDES)
    channels = 4 + architecture.num_classes
    elem = _onnx_type(g)
    in_shape: list[int | str] = ["batch", 3, "height", "width"] if dynamic else [1, 3, h, w]
    out_shape: list[int | str] = (
        ["batch", channels, "anchors"] if dynamic else [1, channels, anchors]
    )
    graph = helper.make_graph(
        g.nodes,
        f"yolov8{architecture.scale}",
        [helper.make_tensor_value_info("images", elem, in_shape)],
        [helper.make_tensor_value_info("output0", elem, out_shape)],
        g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="gstreamed"
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model
