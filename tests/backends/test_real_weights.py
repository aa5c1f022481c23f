"""The torch backend on the real YOLOv8n COCO weights agrees with their Ultralytics ONNX export."""

from __future__ import annotations

import numpy as np
import pytest
from backend_helpers import MEDIA, assert_head_outputs_close

from gstreamed.backends import load_backend
from gstreamed.detect.detector import Detector
from gstreamed.detect.preprocess import Preprocessor

cv2 = pytest.importorskip("cv2")


def _images() -> list[np.ndarray]:
    paths = sorted(MEDIA.glob("*.jpg"))
    if not paths:
        pytest.skip(f"no pictures in {MEDIA}")
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]


@pytest.fixture(scope="module")
def backends(real_weights) -> tuple[object, object]:
    weights, onnx_path = real_weights
    return load_backend(weights, "torch"), load_backend(onnx_path, "ort")


def test_same_model_info(backends) -> None:
    torch_backend, ort_backend = backends
    assert torch_backend.info == ort_backend.info
    assert torch_backend.layout == ort_backend.layout == "v8"


def test_random_inputs_agree(backends) -> None:
    torch_backend, ort_backend = backends
    for seed in range(2):
        x = np.random.default_rng(seed).random((1, 3, 640, 640), np.float32)
        assert_head_outputs_close(torch_backend.forward(x), ort_backend.forward(x))


def test_real_pictures_agree(backends) -> None:
    torch_backend, ort_backend = backends
    preprocess = Preprocessor(torch_backend.info.input_size, batch=1)
    for image in _images():
        tensor, _ = preprocess(image)
        assert_head_outputs_close(torch_backend.forward(tensor), ort_backend.forward(tensor))


def test_same_detections(backends) -> None:
    torch_backend, ort_backend = backends
    found = 0
    for image in _images():
        a = Detector(torch_backend).detect(image)
        b = Detector(ort_backend).detect(image)
        assert len(a) == len(b) and np.array_equal(a.class_id, b.class_id)
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.05)
        np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-4)
        found += len(a)
    assert found > 0
