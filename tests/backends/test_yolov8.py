"""The YOLOv8 network definition and its safetensors loaders."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from backend_helpers import fold_batchnorm, random_tensors, write_safetensors

from gstreamed.errors import GstreamedError

torch = pytest.importorskip("torch")

from gstreamed.backends.yolov8 import YoloV8, load_model  # noqa: E402
from gstreamed.backends.yolov8_arch import NAMINGS, SCALES, Architecture  # noqa: E402


def expected_tensors(network: YoloV8, naming: str) -> dict[str, tuple[int, ...]]:
    return network.architecture.tensor_shapes(naming)


def _forward(path, size: int = 96, batch: int = 2, seed: int = 1) -> np.ndarray:
    x = torch.from_numpy(np.random.default_rng(seed).random((batch, 3, size, size), np.float32))
    with torch.inference_mode():
        return load_model(path).network(x).numpy()


# Parameter counts Ultralytics prints for its fused 80-class models ("YOLOv8n summary
# (fused): ... 3151904 parameters"): the architecture at every scale must match.
ULTRALYTICS_FUSED_PARAMS = {
    "n": 3_151_904,
    "s": 11_156_544,
    "m": 25_886_080,
    "l": 43_668_288,
    "x": 68_200_608,
}


@pytest.mark.parametrize("scale", list(SCALES))
def test_every_scale_has_ultralytics_parameter_count(scale: str) -> None:
    network = YoloV8(scale, 80)
    assert sum(p.numel() for p in network.parameters()) == ULTRALYTICS_FUSED_PARAMS[scale]


@pytest.mark.parametrize("scale", ["n", "m"])
def test_architecture_names_and_shapes_are_the_torch_state_dict(scale: str) -> None:
    network = YoloV8(scale, 5)
    state = {k: tuple(v.shape) for k, v in network.state_dict().items()}
    assert Architecture(scale, 5).tensor_shapes("ultralytics-fused") == state


def test_output_layout_for_any_class_count() -> None:
    network = YoloV8("n", 7).eval()
    with torch.inference_mode():
        out = network(torch.rand(2, 3, 64, 96))
    anchors = sum((64 // s) * (96 // s) for s in (8, 16, 32))
    assert out.shape == (2, 4 + 7, anchors)
    assert float(out[:, 4:].min()) >= 0 and float(out[:, 4:].max()) <= 1  # sigmoid scores


def test_candle_names_follow_candle_model_rs() -> None:
    # Names as built by candle-examples/examples/yolo-v8/model.rs (VarBuilder paths).
    names = expected_tensors(YoloV8("n", 80), "candle")
    for name in (
        "net.b1.0.conv.weight",
        "net.b1.0.bn.running_var",
        "net.b2.0.bottleneck.0.cv1.bn.weight",
        "net.b5.0.cv2.conv.weight",
        "fpn.n1.cv1.conv.weight",
        "fpn.n6.bottleneck.0.cv2.bn.bias",
        "head.cv2.0.2.weight",
        "head.cv3.2.2.bias",
        "head.dfl.conv.weight",
    ):
        assert name in names
    assert names["head.cv3.0.0.conv.weight"] == (80, 64, 3, 3)
    assert not any(k.startswith("model.") or ".m." in k for k in names)


def test_three_namings_give_the_same_network(tmp_path) -> None:
    bn = random_tensors("ultralytics-bn")
    fused = fold_batchnorm(bn)
    candle_names = list(expected_tensors(YoloV8("n", 3), "candle"))
    bn_names = list(expected_tensors(YoloV8("n", 3), "ultralytics-bn"))
    candle = {c: bn[u] for c, u in zip(candle_names, bn_names, strict=True)}
    outputs = {}
    for naming, tensors in (
        ("ultralytics-bn", bn),
        ("ultralytics-fused", fused),
        ("candle", candle),
    ):
        path = write_safetensors(tmp_path / f"{naming}.safetensors", tensors)
        assert load_model(path).naming == naming
        outputs[naming] = _forward(path)
    np.testing.assert_array_equal(outputs["candle"], outputs["ultralytics-bn"])
    np.testing.assert_allclose(
        outputs["ultralytics-fused"], outputs["ultralytics-bn"], rtol=1e-5, atol=1e-4
    )


@pytest.mark.parametrize("naming", NAMINGS)
def test_scale_classes_and_metadata_read_from_file(make_weights, naming: str) -> None:
    loaded = load_model(make_weights(naming, num_classes=5, imgsz=128))
    assert (loaded.scale, loaded.network.num_classes) == ("n", 5)
    assert loaded.info.names == tuple(f"thing{i}" for i in range(5))
    assert loaded.info.input_size == (128, 128)


def test_ignores_num_batches_tracked(tmp_path) -> None:
    tensors = random_tensors("ultralytics-bn")
    tensors["model.0.bn.num_batches_tracked"] = np.zeros((), np.float32)
    load_model(write_safetensors(tmp_path / "w.safetensors", tensors))


def test_candle_file_without_names_is_coco_without_warning(tmp_path, caplog) -> None:
    path = write_safetensors(
        tmp_path / "yolov8n.safetensors", random_tensors("candle", num_classes=80)
    )
    with caplog.at_level(logging.WARNING):
        info = load_model(path).info
    assert info.names[0] == "person" and len(info.names) == 80
    assert info.input_size == (640, 640)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_ultralytics_file_without_names_warns_coco(tmp_path, caplog) -> None:
    path = write_safetensors(
        tmp_path / "w.safetensors", random_tensors("ultralytics-fused", num_classes=80)
    )
    with caplog.at_level(logging.WARNING):
        assert load_model(path).info.names[0] == "person"
    assert "COCO" in caplog.text


def test_other_class_count_without_names_gets_generic_names(tmp_path) -> None:
    path = write_safetensors(tmp_path / "w.safetensors", random_tensors("ultralytics-fused"))
    assert load_model(path).info.names == ("class0", "class1", "class2")


def test_names_metadata_must_fit_class_count(tmp_path) -> None:
    path = write_safetensors(
        tmp_path / "w.safetensors", random_tensors("ultralytics-fused"), {"names": "['a', 'b']"}
    )
    with pytest.raises(GstreamedError, match="2 classes but the weights have 3"):
        load_model(path)


@pytest.mark.parametrize(
    "naming, name",
    [
        ("ultralytics-bn", "model.6.m.1.cv2.bn.running_var"),
        ("ultralytics-fused", "model.22.cv3.1.2.bias"),
        ("candle", "fpn.n4.cv2.conv.weight"),
    ],
)
def test_missing_tensor_is_named(tmp_path, naming: str, name: str) -> None:
    tensors = random_tensors(naming)
    shape = list(tensors.pop(name).shape)
    path = write_safetensors(tmp_path / "w.safetensors", tensors)
    expected = f"missing tensor '{name}' (expected shape {shape} for YOLOv8n with 3 classes)"
    with pytest.raises(GstreamedError, match=re.escape(expected)):
        load_model(path)


def test_misshaped_tensor_is_named_with_both_shapes(tmp_path) -> None:
    tensors = random_tensors("ultralytics-bn")
    tensors["model.9.cv2.conv.weight"] = np.zeros((64, 512, 1, 1), np.float32)
    path = write_safetensors(tmp_path / "w.safetensors", tensors)
    with pytest.raises(
        GstreamedError,
        match=r"'model.9.cv2.conv.weight' has shape "
        r"\[64, 512, 1, 1\], expected \[256, 512, 1, 1\]",
    ):
        load_model(path)


def test_unexpected_tensor_is_rejected(tmp_path) -> None:
    tensors = random_tensors("ultralytics-fused")
    tensors["model.22.cv4.0.0.conv.weight"] = np.zeros((1,), np.float32)  # a pose head
    path = write_safetensors(tmp_path / "w.safetensors", tensors)
    with pytest.raises(GstreamedError, match=r"unexpected tensors model.22.cv4"):
        load_model(path)


def test_unknown_width_and_unknown_naming(tmp_path) -> None:
    tensors = random_tensors("ultralytics-fused")
    tensors["model.0.conv.weight"] = np.zeros((24, 3, 3, 3), np.float32)
    with pytest.raises(GstreamedError, match="24 output channels, which fits no YOLOv8 scale"):
        load_model(write_safetensors(tmp_path / "a.safetensors", tensors))
    with pytest.raises(GstreamedError, match="no YOLOv8 weights found"):
        load_model(write_safetensors(tmp_path / "b.safetensors", {"x": np.zeros(3, np.float32)}))


def test_pickles_and_garbage_are_refused(tmp_path) -> None:
    pickle = tmp_path / "yolov8n.pt"
    pickle.write_bytes(b"\x80\x04not loaded")
    with pytest.raises(GstreamedError, match="pickled PyTorch checkpoints are not loaded"):
        load_model(pickle)
    garbage = tmp_path / "w.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(GstreamedError, match="not a readable safetensors file"):
        load_model(garbage)
    with pytest.raises(GstreamedError, match="model not found"):
        load_model(tmp_path / "absent.safetensors")
