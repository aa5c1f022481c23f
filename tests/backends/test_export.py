"""ONNX export (no torch): the graph agrees with the PyTorch network, metadata, overwrite
rules, safe writes, the CLI command."""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import onnx
import pytest
from backend_helpers import REAL_ONNX, REAL_WEIGHTS, SHARED_MODELS

from gstreamed.backends import load_backend
from gstreamed.backends.export import export_onnx
from gstreamed.errors import GstreamedError

# Exported graph vs the PyTorch network, both float32: measured on YOLOv8n at 640x640 scores
# differ by < 3e-7 and boxes by < 1.1e-5 of their value (8e-4 px), the order of float32
# rounding; this bound is 10x that.
RTOL = ATOL = 1e-4


def _agree(weights, onnx_path, shape: tuple[int, ...], seed: int = 0) -> None:
    torch = pytest.importorskip("torch")
    from gstreamed.backends.yolov8 import load_model

    x = np.random.default_rng(seed).random(shape, np.float32)
    ort_out = load_backend(onnx_path, "ort").forward(x)
    with torch.inference_mode():
        torch_out = load_model(weights).network(torch.from_numpy(x)).numpy()
    assert ort_out.shape == torch_out.shape
    np.testing.assert_allclose(ort_out, torch_out, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("naming", ["ultralytics-bn", "ultralytics-fused", "candle"])
def test_static_export_matches_torch(make_weights, tmp_path, naming: str) -> None:
    weights = make_weights(naming, num_classes=3, imgsz=128)
    path = export_onnx(weights, tmp_path / "m.onnx")
    backend = load_backend(path, "ort")
    assert backend.info.input_size == (128, 128) and backend.max_batch == 1
    assert backend.info.names == ("thing0", "thing1", "thing2")
    _agree(weights, path, (1, 3, 128, 128))


def test_dynamic_export_matches_torch_at_other_sizes(make_weights, tmp_path) -> None:
    weights = make_weights(num_classes=2, imgsz=64)
    path = export_onnx(weights, tmp_path / "m.onnx", imgsz=160, dynamic=True)
    graph = onnx.load(str(path)).graph
    assert [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [
        "batch",
        3,
        "height",
        "width",
    ]
    assert [d.dim_param or d.dim_value for d in graph.output[0].type.tensor_type.shape.dim] == [
        "batch",
        6,
        "anchors",
    ]
    assert load_backend(path, "ort").info.input_size == (160, 160)
    _agree(weights, path, (2, 3, 160, 96))
    _agree(weights, path, (1, 3, 64, 64), seed=1)


def test_real_weights_export_matches_torch_and_ultralytics(tmp_path) -> None:
    if not (REAL_WEIGHTS.is_file() and REAL_ONNX.is_file()):
        pytest.skip(f"real weights not present in {SHARED_MODELS}")
    path = export_onnx(REAL_WEIGHTS, tmp_path / "yolov8n.onnx")
    ours, theirs = load_backend(path, "ort"), load_backend(REAL_ONNX, "ort")
    assert ours.info == theirs.info and ours.info.input_size == (640, 640)
    x = np.random.default_rng(0).random((1, 3, 640, 640), np.float32)
    np.testing.assert_allclose(ours.forward(x), theirs.forward(x), rtol=RTOL, atol=ATOL)
    _agree(REAL_WEIGHTS, path, (1, 3, 640, 640))


def test_export_never_imports_torch(make_weights, tmp_path) -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # any 'import torch' now fails\n"
        "from gstreamed.backends.export import export_onnx\n"
        "export_onnx(sys.argv[1], sys.argv[2], dynamic=True)\n"
    )
    out = tmp_path / "no-torch.onnx"
    done = subprocess.run(
        [sys.executable, "-c", code, str(make_weights()), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert load_backend(out, "ort").max_batch > 1


def test_half_export_runs_float16(make_weights, tmp_path) -> None:
    weights = make_weights(imgsz=64)
    half = export_onnx(weights, tmp_path / "m16.onnx", half=True)
    full = export_onnx(weights, tmp_path / "m32.onnx")
    input_type = onnx.load(str(half)).graph.input[0].type.tensor_type.elem_type
    assert input_type == onnx.TensorProto.FLOAT16
    x = np.random.default_rng(0).random((1, 3, 64, 64), np.float32)
    half_out, full_out = load_backend(half, "ort").forward(x), load_backend(full, "ort").forward(x)
    assert half_out.dtype == np.float32
    np.testing.assert_allclose(half_out[:, 4:], full_out[:, 4:], atol=1e-2)
    np.testing.assert_allclose(half_out[:, :4], full_out[:, :4], atol=0.5)


def test_a_symlink_at_the_temporary_name_is_not_followed(make_weights, tmp_path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "m.onnx"
    (tmp_path / ".m.onnx.partial").symlink_to(victim)  # the name earlier versions wrote to
    export_onnx(make_weights(), target)
    assert victim.read_text() == "precious"
    assert load_backend(target, "ort").layout == "v8"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [
        ".m.onnx.partial"
    ]


def test_metadata_is_ultralytics_compatible(make_weights, tmp_path) -> None:
    weights = make_weights("candle", num_classes=80, names=False)
    path = export_onnx(weights, tmp_path / "m.onnx", imgsz=96)
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["imgsz"] == "[96, 96]" and meta["stride"] == "32" and meta["task"] == "detect"
    assert meta["names"].startswith("{0: 'person', 1: 'bicycle'")
    assert meta["description"].startswith("YOLOv8n detection model exported by gstreamed")
    assert {"author", "version", "date", "source"} <= set(meta)


def test_never_overwrites_without_force(make_weights, tmp_path) -> None:
    target = tmp_path / "m.onnx"
    target.write_bytes(b"precious")
    with pytest.raises(GstreamedError, match="exists; pass --force"):
        export_onnx(make_weights(), target)
    assert target.read_bytes() == b"precious"
    export_onnx(make_weights(), target, force=True)
    assert load_backend(target, "ort").layout == "v8"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_command_run(make_weights, tmp_path) -> None:
    from gstreamed.commands import export as command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    out = tmp_path / "cmd.onnx"
    args = parser.parse_args(
        ["export", str(make_weights()), "-o", str(out), "--imgsz", "64", "--dynamic"]
    )
    assert args.func(args) == 0
    assert load_backend(out, "ort").info.input_size == (64, 64)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gstreamed", *args], capture_output=True, text=True, timeout=300
    )


def test_export_cli(make_weights, tmp_path) -> None:
    from gstreamed.commands import SUBCOMMANDS

    if "export" not in SUBCOMMANDS:
        pytest.skip("'export' is not registered in gstreamed.commands.SUBCOMMANDS yet")
    weights, out = make_weights(), tmp_path / "cli.onnx"
    done = _cli("export", str(weights), "-o", str(out), "--imgsz", "64")
    assert done.returncode == 0, done.stderr
    assert load_backend(out, "ort").info.input_size == (64, 64)
    again = _cli("export", str(weights), "-o", str(out))
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and "--force" in again.stderr
    assert _cli("export", str(weights), "-o", str(out), "--force", "--half").returncode == 0
