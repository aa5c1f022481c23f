"""The Detector end to end on generated models (exact boxes) and on the real YOLOv8n."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from models import NAMES3, classifier_model, constant_model, constant_yolo

from gstreamed.backends.ort import OrtBackend
from gstreamed.detect.detector import Detector, resolve_classes
from gstreamed.errors import GstreamedError

SHARED = Path(__file__).resolve().parents[3] / "shared"
REAL_MODEL = SHARED / "models" / "yolov8n-coco-f32.onnx"
PHOTOS = ["bus.jpg", "zidane.jpg", "dog.jpg", "horses.jpg"]

# One box in 64x64 network pixels: centre (32, 32), 20x20 → (22, 22, 42, 42).
BOX = (32, 32, 20, 20, 1, 0.9)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return constant_yolo(tmp_path_factory.mktemp("m") / "tiny.onnx", [BOX])


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [
        (64, 64, [22, 22, 42, 42]),
        (128, 256, [88, 24, 168, 104]),  # scale 1/4, pad_y 16
        (256, 128, [24, 88, 104, 168]),  # scale 1/4, pad_x 16
        (720, 1280, [440, 160, 840, 560]),  # scale 1/20, pad_y 14
        (17, 33, [11.34375, 3.609375, 21.65625, 13.921875]),  # scale 64/33, pad_y 15
    ],
)
def test_boxes_in_frame_pixels(tiny, height, width, expected):
    detections = Detector.from_model(tiny).detect(np.zeros((height, width, 3), np.uint8))
    assert len(detections) == 1
    np.testing.assert_allclose(detections.xyxy[0], expected, rtol=1e-5)
    assert detections.class_names == ["car"]
    assert detections.confidence[0] == pytest.approx(0.9)
    assert detections.track_id.tolist() == [-1]


def test_thresholds_and_class_filter(tiny):
    frame = np.zeros((64, 64, 3), np.uint8)
    assert len(Detector.from_model(tiny, conf=0.95).detect(frame)) == 0
    assert len(Detector.from_model(tiny, classes="person").detect(frame)) == 0
    assert len(Detector.from_model(tiny, classes="car,dog").detect(frame)) == 1
    with pytest.raises(GstreamedError, match="unknown class 'truck'"):
        Detector.from_model(tiny, classes="truck")
    with pytest.raises(GstreamedError, match="between 0 and 1"):
        Detector.from_model(tiny, conf=1.5)


def test_resolve_classes_names_and_ids():
    assert resolve_classes("dog, 0", NAMES3).tolist() == [0, 2]
    assert resolve_classes(None, NAMES3) is None


def test_metadata_names_and_size(tmp_path):
    model = constant_yolo(tmp_path / "m.onnx", [BOX], imgsz=(64, 64))
    backend = OrtBackend(model)
    assert backend.info.names == NAMES3
    assert backend.info.input_size == (64, 64)


def test_dynamic_model_uses_metadata_size(tmp_path):
    model = constant_yolo(tmp_path / "dyn.onnx", [BOX], imgsz=(64, 64), dynamic=True)
    detections = Detector.from_model(model).detect(np.zeros((128, 256, 3), np.uint8))
    np.testing.assert_allclose(detections.xyxy[0], [88, 24, 168, 104])


def test_model_without_names_falls_back_to_coco_with_warning(tmp_path, caplog):
    out = np.zeros((1, 84, 16), np.float32)
    model = constant_model(tmp_path / "anon.onnx", out, names=None)
    backend = OrtBackend(model)
    assert len(backend.info.names) == 80 and backend.info.names[0] == "person"
    assert "COCO" in caplog.text


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: classifier_model(p), "expected a YOLO detection head output"),
        (lambda p: constant_model(p, np.zeros((1, 50, 16), np.float32)), "does not fit 3 classes"),
        (
            lambda p: constant_model(p, np.zeros((1, 7, 16), np.float32), input_channels=1),
            "not one image tensor",
        ),
        (lambda p: p.write_bytes(b"not an onnx model at all") and p, "not a loadable ONNX"),
        (lambda p: p.write_bytes(bytes(range(256)) * 40) and p, "not a loadable ONNX"),
    ],
    ids=["classifier", "wrong-classes", "gray-input", "text", "random-bytes"],
)
def test_bad_models_are_refused_with_a_message(tmp_path, make, message):
    path = tmp_path / "bad.onnx"
    make(path)
    with pytest.raises(GstreamedError, match=message):
        OrtBackend(path)


def test_cuda_request_warns_and_runs_on_cpu(tiny, caplog):
    backend = OrtBackend(tiny, device="cuda")
    assert backend.device == "cpu"
    assert "RUNNING ON CPU" in caplog.text


def reference_detections(
    model: Path, image: np.ndarray, conf: float = 0.25, iou: float = 0.45
) -> list[tuple[int, np.ndarray]]:
    """A deliberately plain decode of the raw output: per-box Python loops, greedy NMS."""
    import onnxruntime as ort

    h, w = image.shape[:2]
    scale = min(640 / h, 640 / w)
    nw, nh = round(w * scale), round(h * scale)
    canvas = np.full((640, 640, 3), 114, np.uint8)
    top, left = (640 - nh) // 2, (640 - nw) // 2
    canvas[top : top + nh, left : left + nw] = cv2.resize(image, (nw, nh))
    tensor = canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    out = session.run(None, {"images": tensor})[0][0].T  # [A, 84]
    boxes = []
    for row in out:
        cls = int(np.argmax(row[4:]))
        score = float(row[4 + cls])
        if score >= conf:
            cx, cy, bw, bh = row[:4]
            boxes.append(
                (score, cls, np.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]))
            )
    boxes.sort(key=lambda b: -b[0])
    kept: list[tuple[float, int, np.ndarray]] = []
    for score, cls, box in boxes:
        if all(c != cls or box_iou(box, k) <= iou for _, c, k in kept):
            kept.append((score, cls, box))
    result = []
    for _, cls, box in kept:
        frame_box = (box - [left, top, left, top]) / scale
        frame_box = np.clip(frame_box, 0, [w, h, w, h])
        result.append((cls, frame_box))
    return result


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.mark.skipif(not REAL_MODEL.exists(), reason="../shared/models (real YOLOv8n) absent")
@pytest.mark.parametrize("photo", PHOTOS)
def test_real_model_matches_reference_decode(photo):
    path = SHARED / "media" / photo
    if not path.exists():
        pytest.skip(f"../shared/media/{photo} absent")
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    ours = Detector.from_model(REAL_MODEL).detect(image)
    reference = reference_detections(REAL_MODEL, image)
    assert len(ours) == len(reference) > 0
    for (cls, box), our_cls, our_box in zip(reference, ours.class_id, ours.xyxy, strict=True):
        assert our_cls == cls
        assert box_iou(box, our_box) >= 0.99
