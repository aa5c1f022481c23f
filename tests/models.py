"""Generators of small ONNX models for tests: YOLO-shaped graphs with known outputs.

``constant_yolo`` builds a graph whose head output is a fixed tensor (plus 0 x the input, so
the input is really consumed): the boxes it "detects" are known exactly, so tests can check
geometry, NMS and the whole pipeline without a trained network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NAMES3 = ("person", "car", "dog")


def yolo_v8_output(
    boxes: Sequence[tuple[float, float, float, float, int, float]], num_classes: int, anchors: int
) -> np.ndarray:
    """A [1, 4+C, A] head output holding ``boxes`` (cx, cy, w, h, class, score) in its first
    anchors; every other anchor scores 0."""
    out = np.zeros((1, 4 + num_classes, anchors), np.float32)
    out[0, 2:4, :] = 1.0
    for a, (cx, cy, w, h, cls, score) in enumerate(boxes):
        out[0, :4, a] = (cx, cy, w, h)
        out[0, 4 + cls, a] = score
    return out


def constant_model(
    path: Path,
    output: np.ndarray,
    imgsz: tuple[int, int] = (64, 64),
    names: Sequence[str] | None = NAMES3,
    dynamic: bool = False,
    input_channels: int = 3,
    extra_metadata: dict[str, str] | None = None,
) -> Path:
    """Write an ONNX model: ``images`` [1, C, H, W] → ``output0`` = ``output`` + 0 x sum(images).

    ``names=None`` leaves out the class-name metadata; ``dynamic`` makes batch/H/W symbolic.
    """
    h, w = imgsz
    shape: list[int | str] = (
        ["batch", input_channels, "height", "width"] if dynamic else [1, input_channels, h, w]
    )
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, shape)
    out_shape: list[int | str] = list(output.shape)
    if dynamic:
        out_shape[0] = "batch"
    result = helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)
    const = numpy_helper.from_array(output.astype(np.float32), "head")
    zero = numpy_helper.from_array(np.zeros((), np.float32), "zero")
    nodes = [
        helper.make_node("ReduceSum", ["images"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("Add", ["head", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(nodes, "constant_yolo", [images], [result], [const, zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    metadata = {
        "task": "detect",
        "stride": "32",
        "imgsz": str([h, w]),
        "description": "constant test model",
    }
    if names is not None:
        metadata["names"] = str({i: n for i, n in enumerate(names)})
    metadata.update(extra_metadata or {})
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def constant_yolo(
    path: Path,
    boxes: Sequence[tuple[float, float, float, float, int, float]],
    imgsz: tuple[int, int] = (64, 64),
    names: Sequence[str] = NAMES3,
    anchors: int = 84,
    **kwargs: object,
) -> Path:
    """A YOLOv8-layout constant model detecting ``boxes`` (cx, cy, w, h, class, score) given
    in network-input pixels."""
    return constant_model(path, yolo_v8_output(boxes, len(names), anchors), imgsz, names, **kwargs)  # type: ignore[arg-type]


def classifier_model(path: Path) -> Path:
    """A non-YOLO ONNX: image [1, 3, 32, 32] → class logits [1, 10]."""
    return constant_model(path, np.zeros((1, 10), np.float32), (32, 32), None)


def bright_spot_yolo(
    path: Path, size: tuple[float, float] = (8.0, 8.0), imgsz: tuple[int, int] = (64, 64)
) -> Path:
    """A YOLOv8-layout model that follows one bright object: it "detects" a box of ``size``
    (network pixels) centred on the centroid of the input's pixels brighter than 0.6 (class
    0, score 0.9; letterbox padding is darker), so a clip of a moving white square on black
    gives a moving detection."""
    h, w = imgsz
    names = NAMES3
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, h, w])
    anchors = 8
    result = helper.make_tensor_value_info(
        "output0", TensorProto.FLOAT, [1, 4 + len(names), anchors]
    )
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    rest = np.zeros((1, 4 + len(names), anchors - 1), np.float32)
    rest[0, 2:4] = 1.0
    constants = [
        numpy_helper.from_array(xs.reshape(1, 1, h, w), "xs"),
        numpy_helper.from_array(ys.reshape(1, 1, h, w), "ys"),
        numpy_helper.from_array(np.array(0.6, np.float32), "threshold"),
        numpy_helper.from_array(np.array(1e-6, np.float32), "eps"),
        numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes"),
        numpy_helper.from_array(
            np.array([*size, 0.9, 0.0, 0.0], np.float32).reshape(1, 5, 1), "tail"
        ),
        numpy_helper.from_array(rest, "rest"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["gray"], axes=[1], keepdims=1),
        helper.make_node("Greater", ["gray", "threshold"], ["bright"]),
        helper.make_node("Cast", ["bright"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["mask", "axes"], ["count"], keepdims=1),
        helper.make_node("Add", ["count", "eps"], ["safe_count"]),
        helper.make_node("Mul", ["mask", "xs"], ["mx"]),
        helper.make_node("Mul", ["mask", "ys"], ["my"]),
        helper.make_node("ReduceSum", ["mx", "axes"], ["sx"], keepdims=1),
        helper.make_node("ReduceSum", ["my", "axes"], ["sy"], keepdims=1),
        helper.make_node("Div", ["sx", "safe_count"], ["cx4"]),
        helper.make_node("Div", ["sy", "safe_count"], ["cy4"]),
        helper.make_node("Reshape", ["cx4", "shape"], ["cx"]),
        helper.make_node("Reshape", ["cy4", "shape"], ["cy"]),
        helper.make_node("Concat", ["cx", "cy", "tail"], ["first"], axis=1),
        helper.make_node("Concat", ["first", "rest"], ["output0"], axis=2),
    ]
    constants.append(numpy_helper.from_array(np.array([1, 1, 1], np.int64), "shape"))
    graph = helper.make_graph(nodes, "bright_spot_yolo", [images], [result], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    metadata = {
        "task": "detect",
        "stride": "32",
        "imgsz": str([h, w]),
        "names": str(dict(enumerate(names))),
    }
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
