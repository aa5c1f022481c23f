"""Fixtures for the backend tests: small random YOLOv8 weights in the three namings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from backend_helpers import (
    REAL_ONNX,
    REAL_WEIGHTS,
    SHARED_MODELS,
    random_tensors,
    write_safetensors,
)

WeightsFactory = Callable[..., Path]


@pytest.fixture
def make_weights(tmp_path: Path) -> WeightsFactory:
    """``make_weights(naming, scale="n", num_classes=3, imgsz=96, names=True, seed=0)``.

    Writes random weights (see `random_tensors`) to a .safetensors file; Ultralytics-style
    ``names``/``imgsz`` metadata unless ``names`` is False.
    """

    def make(
        naming: str = "ultralytics-bn",
        scale: str = "n",
        num_classes: int = 3,
        imgsz: int = 96,
        names: bool = True,
        seed: int = 0,
    ) -> Path:
        tensors = random_tensors(naming, scale, num_classes, seed)
        metadata = (
            {
                "names": str({i: f"thing{i}" for i in range(num_classes)}),
                "imgsz": str([imgsz, imgsz]),
                "stride": "32",
                "task": "detect",
            }
            if names
            else None
        )
        path = tmp_path / f"{naming}-{scale}{num_classes}-{imgsz}-{seed}.safetensors"
        return write_safetensors(path, tensors, metadata)

    return make


@pytest.fixture(scope="module")
def real_weights() -> tuple[Path, Path]:
    """The shared real YOLOv8n COCO weights (safetensors, ONNX), or skip."""
    if not (REAL_WEIGHTS.is_file() and REAL_ONNX.is_file()):
        pytest.skip(f"real weights not present in {SHARED_MODELS}")
    pytest.importorskip("torch")
    return REAL_WEIGHTS, REAL_ONNX
