"""ONNX export: torch and onnxruntime agree, metadata, overwrite rules, the CLI command."""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import onnx
import pytest
from backend_helpers import assert_head_outputs_close

from gstreamed.backends import load_backend
from gstreamed.errors import GstreamedError

pytest.importorskip("torch")

from gstreamed.backends.export import export_onnx


def _agree(weights, onnx_path, shape: tuple[int, ...], seed: int = 0) -> None:
    x = np.random.default_rng(seed).random(shape, np.float32)
    ort_out = load_backend(onnx_path, "ort").forward(x)
    torch_out = load_backend(weights, "torch", imgsz=shape[2:]).forward(x)
    assert_head_outputs_close(torch_out, ort_out)


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


def test_half_export_runs_float16(make_weights, tmp_path) -> None:
    weights = make_weights(imgsz=64)
    path = export_onnx(weights, tmp_path / "m16.onnx", half=True)
    input_type = onnx.load(str(path)).graph.input[0].type.tensor_type.elem_type
    assert input_type == onnx.TensorProto.FLOAT16
    x = np.random.default_rng(0).random((1, 3, 64, 64), np.float32)
    ort_out = load_backend(path, "ort").forward(x)
    torch_out = load_backend(weights, "torch").forward(x)
    assert ort_out.dtype == np.float32
    np.testing.assert_allclose(ort_out[:, 4:], torch_out[:, 4:], atol=1e-2)
    np.testing.assert_allclose(ort_out[:, :4], torch_out[:, :4], atol=0.5)


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


def test_export_after_gstreamer_was_loaded(make_weights, tmp_path) -> None:
    # GStreamer imported before gstreamed puts libunwind's unwinder first, which would abort
    # the TorchScript exporter in-process.
    pytest.importorskip("gi")
    code = (
        "import sys, cv2, gi\n"
        "gi.require_version('Gst', '1.0')\n"
        "from gi.repository import Gst\n"
        "Gst.init(None)\n"
        "from gstreamed.backends.export import export_onnx\n"
        "export_onnx(sys.argv[1], sys.argv[2])\n"
    )
    out = tmp_path / "after-gst.onnx"
    done = subprocess.run(
        [sys.executable, "-c", code, str(make_weights()), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert load_backend(out, "ort").layout == "v8"
