"""Fixtures for the bench tests: a tiny YOLO-shaped ONNX model and a tiny H.264 clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

NUM_CLASSES = 3
IMGSZ = 64


def write_tiny_yolo(path: Path, num_classes: int = NUM_CLASSES, imgsz: int = IMGSZ) -> Path:
    """A YOLOv8-shaped ONNX model: images [batch, 3, imgsz, imgsz] → output0 [batch, 4+C, A].

    One stride-8 convolution, a sigmoid and a scale to input pixels; dynamic batch, with
    Ultralytics ``metadata_props``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    channels = 4 + num_classes
    rng = np.random.default_rng(0)
    weight = rng.normal(0, 0.1, (channels, 3, 8, 8)).astype(np.float32)
    scale = np.ones((1, channels, 1), np.float32)
    scale[0, :4, 0] = imgsz  # boxes in input pixels, scores in 0..1
    nodes = [
        helper.make_node(
            "Conv", ["images", "w"], ["features"], kernel_shape=[8, 8], strides=[8, 8]
        ),
        helper.make_node("Reshape", ["features", "shape"], ["flat"]),
        helper.make_node("Sigmoid", ["flat"], ["squashed"]),
        helper.make_node("Mul", ["squashed", "scale"], ["output0"]),
    ]
    anchors = (imgsz // 8) ** 2
    graph = helper.make_graph(
        nodes,
        "tiny-yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, imgsz, imgsz])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", channels, anchors])],
        [
            numpy_helper.from_array(weight, "w"),
            numpy_helper.from_array(np.array([0, channels, -1], np.int64), "shape"),
            numpy_helper.from_array(scale, "scale"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(
        model,
        {
            "names": str({i: f"thing{i}" for i in range(num_classes)}),
            "imgsz": str([imgsz, imgsz]),
            "stride": "32",
            "task": "detect",
        },
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the tiny YOLO-shaped ONNX model."""
    return write_tiny_yolo(tmp_path_factory.mktemp("bench-model") / "tiny-yolo.onnx")


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-frame 160x96 10 fps H.264 MP4 made with GStreamer's videotestsrc."""
    pytest.importorskip("gi")
    from gstreamed.gst.samples import write_test_clip

    path = tmp_path_factory.mktemp("bench-clip") / "tiny.mp4"
    return write_test_clip(path, frames=12, size=(160, 96), fps=10)
