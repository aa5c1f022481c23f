"""Model metadata a user cannot trust: bad class names, bad strides, huge declared inputs."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest
from models import constant_yolo

from gstreamed.backends import load_backend
from gstreamed.errors import GstreamedError


def _model(tmp_path: Path, **kwargs: object) -> Path:
    return constant_yolo(tmp_path / "m.onnx", [(32, 32, 10, 10, 0, 0.9)], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "names, message",
    [
        ("{'a': 'person', 'b': 'car', 'c': 'dog'}", "not integers ('a', 'b', 'c')"),
        ("{0: 'person', 1.5: 'car', 2: 'dog'}", "class ids that are not integers (1.5)"),
        ("{0: 'person', 1: 'car', 3: 'dog'}", r"class ids [0, 1, 3] are not 0..2"),
        ("{0: 'person', 1: 'car', (2,): 'dog'}", "class ids that are not integers ((2,))"),
        ("{0: 'person', 1: 'car'", "unreadable 'names' metadata"),
    ],
)
def test_bad_class_names_are_one_clear_error(tmp_path: Path, names: str, message: str) -> None:
    path = _model(tmp_path, extra_metadata={"names": names})
    with pytest.raises(GstreamedError) as error:
        load_backend(path, "ort")
    assert message in str(error.value) and "\n" not in str(error.value)
    assert str(error.value).startswith(str(path))


def test_string_class_ids_still_work(tmp_path: Path) -> None:
    path = _model(tmp_path, extra_metadata={"names": "{'0': 'person', '1': 'car', '2': 'dog'}"})
    assert load_backend(path, "ort").info.names == ("person", "car", "dog")


@pytest.mark.parametrize("stride", ["abc", "0", "-32"])
def test_bad_stride_is_one_clear_error(tmp_path: Path, stride: str) -> None:
    path = _model(tmp_path, extra_metadata={"stride": stride})
    with pytest.raises(GstreamedError, match=r"'stride' metadata .* is not a positive integer"):
        load_backend(path, "ort")


def test_huge_static_input_is_refused_before_anything_is_allocated(tmp_path: Path) -> None:
    path = _model(tmp_path, imgsz=(8192, 8192))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(GstreamedError) as error:
        load_backend(path, "ort")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert "declares a 8192x8192 input, over 4096 pixels per side" in str(error.value)
    assert "export it at a smaller input size" in str(error.value)
    assert grown_mb < 200  # one float32 frame alone would be 805 MB


def test_huge_declared_size_of_a_dynamic_model_needs_an_explicit_size(tmp_path: Path) -> None:
    path = _model(tmp_path, dynamic=True, extra_metadata={"imgsz": "[8192, 8192]"})
    with pytest.raises(GstreamedError, match=r"declares a 8192x8192 input.*ask for an input size"):
        load_backend(path, "ort")
    assert load_backend(path, "ort", imgsz=640).info.input_size == (640, 640)
    assert load_backend(path, "ort", imgsz=8192).info.input_size == (8192, 8192)  # asked for


def test_the_largest_allowed_side(tmp_path: Path) -> None:
    path = _model(tmp_path, dynamic=True, extra_metadata={"imgsz": "[4096, 2048]"})
    assert load_backend(path, "ort").info.input_size == (4096, 2048)


def test_cli_bad_names_is_one_line(tmp_path: Path, images, cli, user_error) -> None:
    path = _model(tmp_path, extra_metadata={"names": "{'a': 'person', 'b': 'car', 'c': 'dog'}"})
    proc = cli(images["png"], "--model", path, "--no-output")
    user_error(proc, "class ids that are not integers")
