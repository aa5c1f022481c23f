"""Helpers for the backend tests: random YOLOv8 weights, a batch-norm oracle, paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHARED_MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"
REAL_WEIGHTS = SHARED_MODELS / "yolov8n-coco-fused.safetensors"
REAL_ONNX = SHARED_MODELS / "yolov8n-coco-f32.onnx"
MEDIA = SHARED_MODELS.parent / "media"

# Torch vs ORT, both float32: class scores within 1e-3; box coordinates (input pixels, up to
# 640) within 1e-2 px. Float32 rounding alone moves real-image boxes by ~3e-3 px between the
# two engines, and each is ~2e-3 px from a float64 reference, so 1e-3 px is below the noise.
SCORE_ATOL, BOX_ATOL = 1e-3, 1e-2


def assert_head_outputs_close(actual: np.ndarray, expected: np.ndarray) -> None:
    """Two [B, 4+C, A] head outputs agree: boxes within BOX_ATOL, scores within SCORE_ATOL."""
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual[:, :4], expected[:, :4], rtol=0, atol=BOX_ATOL)
    np.testing.assert_allclose(actual[:, 4:], expected[:, 4:], rtol=0, atol=SCORE_ATOL)


def random_tensors(
    naming: str, scale: str = "n", num_classes: int = 3, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random YOLOv8 weights named as in ``naming`` (one of yolov8.NAMINGS).

    Convolution weights are scaled by 1/sqrt(fan-in) so activations stay in a sane range;
    batch-norm variances and gains lie in 0.5..1.5; the DFL weight is 0..15 as in training.
    """
    from gstreamed.backends.yolov8_arch import Architecture

    rng = np.random.default_rng(seed)
    tensors = {}
    for name, shape in Architecture(scale, num_classes).tensor_shapes(naming).items():
        if name.endswith("dfl.conv.weight"):
            value = np.arange(16, dtype=np.float32).reshape(shape)
        elif name.endswith((".running_var", ".bn.weight")):
            value = rng.uniform(0.5, 1.5, shape)
        elif len(shape) == 4:
            value = rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[1:])), shape)
        else:
            value = rng.normal(0.0, 0.1, shape)
        tensors[name] = np.asarray(value, np.float32)
    return tensors


def fold_batchnorm(tensors: dict[str, np.ndarray], eps: float = 1e-3) -> dict[str, np.ndarray]:
    """Ultralytics-bn tensors with each ``X.bn.*`` folded into ``X.conv`` (a test oracle)."""
    fused = {k: v for k, v in tensors.items() if ".bn." not in k}
    for key in [k for k in tensors if k.endswith(".bn.weight")]:
        block = key[: -len(".bn.weight")]
        gain = tensors[key] / np.sqrt(tensors[f"{block}.bn.running_var"] + eps)
        fused[f"{block}.conv.weight"] = tensors[f"{block}.conv.weight"] * gain[:, None, None, None]
        fused[f"{block}.conv.bias"] = (
            tensors[f"{block}.bn.bias"] - tensors[f"{block}.bn.running_mean"] * gain
        )
    return fused


def write_safetensors(
    path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None
) -> Path:
    from safetensors.numpy import save_file

    save_file(tensors, str(path), metadata=metadata)
    return path
