"""Where models come from: ``--model``, ``$GSTREAMED_MODEL``, or the user model cache."""

from __future__ import annotations

import os
from pathlib import Path

from gstreamed.defaults import MODEL_ENV, cache_dir
from gstreamed.errors import GstreamedError

DEFAULT_MARKER = "default"  # file in the models cache naming the default model


def models_dir() -> Path:
    """The directory of cached models."""
    return cache_dir() / "models"


def resolve_model(model: str | Path | None) -> Path:
    """The model to use: the given path, else ``$GSTREAMED_MODEL``, else the cached default."""
    if model:
        path = Path(model).expanduser()
        if not path.exists():
            raise GstreamedError(f"model not found: {path}")
        if path.is_dir():
            raise GstreamedError(f"model path is a directory: {path}")
        return path
    env = os.environ.get(MODEL_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise GstreamedError(f"${MODEL_ENV} points to {path}, which is not a file")
        return path
    marker = models_dir() / DEFAULT_MARKER
    if marker.is_file():
        path = models_dir() / marker.read_text().strip()
        if path.is_file():
            return path
    raise GstreamedError(
        "no model: pass --model PATH.onnx, set $GSTREAMED_MODEL, or run "
        "'gstreamed models pull yolov8n' to download one into the cache")
