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

# Boxes in network-input pixels of the 64x64 models: (cx, cy, w, h, class, score).
CAR = (32.0, 32.0, 20.0, 16.0, 1, 0.9)  # input box x 22..42, y 24..40
PERSON = (16.0, 16.0, 8.0, 8.0, 0, 0.8)  # input box x 12..20, y 12..20


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


def brightness_yolo(
    path: Path,
    boxes: Sequence[tuple[float, float, float, float, int, float]],
    shift: float,
    imgsz: tuple[int, int] = (64, 64),
    names: Sequence[str] = NAMES3,
    anchors: int = 84,
    dynamic: bool = False,
) -> Path:
    """Like `constant_yolo`, but every box's cx moves right by ``shift`` x the mean of its own
    input image (0..1): streams of different brightness get boxes at different places, and a
    batch of frames gets one output per frame (``dynamic`` makes the batch symbolic)."""
    head = yolo_v8_output(boxes, len(names), anchors)
    moves = np.zeros_like(head)
    moves[0, 0, : len(boxes)] = shift
    h, w = imgsz
    batch: int | str = "batch" if dynamic else 1
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, h, w])
    result = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, *head.shape[1:]])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Unsqueeze", ["mean", "axes"], ["mean3"]),
        helper.make_node("Mul", ["mean3", "moves"], ["moved"]),
        helper.make_node("Add", ["head", "moved"], ["output0"]),
    ]
    initializers = [
        numpy_helper.from_array(head, "head"),
        numpy_helper.from_array(moves, "moves"),
        numpy_helper.from_array(np.array([1, 2], np.int64), "axes"),
    ]
    graph = helper.make_graph(nodes, "brightness_yolo", [images], [result], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    for key, value in {
        "task": "detect",
        "stride": "32",
        "imgsz": str([h, w]),
        "names": str(dict(enumerate(names))),
    }.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
