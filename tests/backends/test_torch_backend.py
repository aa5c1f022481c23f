"""TorchBackend: the Backend protocol on PyTorch, device fallback, and torch isolation."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gstreamed.backends import load_backend
from gstreamed.errors import GstreamedError


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_ort_path_never_imports_torch() -> None:
    result = _python("""
        import sys
        import gstreamed.backends, gstreamed.backends.ort, gstreamed.backends.zoo
        import gstreamed.detect.detector, gstreamed.commands.export, gstreamed.commands.models
        assert "torch" not in sys.modules, "torch imported"
    """)
    assert result.returncode == 0, result.stderr


def test_missing_torch_says_how_to_install(tmp_path) -> None:
    result = _python(f"""
        import sys
        sys.modules["torch"] = None  # makes 'import torch' fail as if not installed
        from gstreamed.backends import load_backend
        from gstreamed.errors import GstreamedError
        try:
            load_backend({str(tmp_path / "w.safetensors")!r}, "torch")
        except GstreamedError as exc:
            print(exc)
    """)
    assert "pip install '.[torch]'" in result.stdout, result.stderr


def test_backend_protocol(make_weights) -> None:
    backend = load_backend(make_weights("candle", num_classes=4, imgsz=96), "torch")
    assert (backend.name, backend.device, backend.layout) == ("torch", "cpu", "v8")
    assert backend.info.input_size == (96, 96) and len(backend.info.names) == 4
    assert backend.max_batch >= 2
    x = np.random.default_rng(0).random((2, 3, 96, 96), np.float32)
    out = backend.forward(x)
    assert out.dtype == np.float32 and out.shape == (2, 8, 12 * 12 + 6 * 6 + 3 * 3)
    np.testing.assert_allclose(backend.forward(x[:1]), out[:1], rtol=1e-5, atol=1e-4)


def test_imgsz_and_threads(make_weights) -> None:
    torch = pytest.importorskip("torch")
    backend = load_backend(make_weights(imgsz=96), "torch", threads=1, imgsz=(64, 128))
    assert backend.info.input_size == (64, 128) and torch.get_num_threads() == 1
    assert backend.forward(np.zeros((1, 3, 64, 128), np.float32)).shape[2] == 8 * 16 + 4 * 8 + 2 * 4
    with pytest.raises(GstreamedError, match="multiples of 32"):
        load_backend(make_weights(), "torch", imgsz=100)


def test_bad_input_shape(make_weights) -> None:
    backend = load_backend(make_weights(), "torch")
    with pytest.raises(GstreamedError, match=r"inference failed: input shape \[1, 3, 90, 96\]"):
        backend.forward(np.zeros((1, 3, 90, 96), np.float32))


def test_cuda_unavailable_falls_back_loudly(make_weights, caplog, monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.WARNING):
        backend = load_backend(make_weights(), "torch", device="cuda", half=True)
    assert backend.device == "cpu"
    assert "RUNNING ON CPU" in caplog.text and "--half needs CUDA" in caplog.text
    assert backend.forward(np.zeros((1, 3, 96, 96), np.float32)).dtype == np.float32


def test_bad_device_and_onnx_without_weights(make_weights, tmp_path) -> None:
    with pytest.raises(GstreamedError, match="unknown device"):
        load_backend(make_weights(), "torch", device="gpu")
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(b"")
    with pytest.raises(GstreamedError, match=r"no lonely.safetensors beside this ONNX model"):
        load_backend(lonely, "torch")


def test_onnx_path_runs_the_weights_beside_it(make_weights) -> None:
    weights = make_weights()
    onnx_path = weights.with_suffix(".onnx")
    onnx_path.write_bytes(b"")
    assert load_backend(onnx_path, "torch").info.input_size == (96, 96)
