"""Inference backends behind one small interface (`Backend`), chosen by name."""

from __future__ import annotations

from pathlib import Path

from gstreamed.backends.base import Backend, ModelInfo
from gstreamed.errors import GstreamedError

BACKENDS = ("ort", "torch")


def load_backend(
    model: str | Path, backend: str = "ort", device: str = "cpu", **options: object
) -> Backend:
    """Open ``model`` with the named backend on ``device`` (``cpu``, ``cuda``, ``cuda:N``).

    Backend modules are imported lazily so the ORT path never imports torch.
    """
    if backend == "ort":
        from gstreamed.backends.ort import OrtBackend

        return OrtBackend(model, device=device, **options)  # type: ignore[arg-type]
    if backend == "torch":
        from gstreamed.backends.pytorch import TorchBackend

        return TorchBackend(model, device=device, **options)  # type: ignore[arg-type]
    raise GstreamedError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "ModelInfo", "load_backend"]
