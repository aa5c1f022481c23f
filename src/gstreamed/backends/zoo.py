"""Where models come from: ``--model``, ``$GSTREAMED_MODEL``, or the user model cache.

``pull`` fills the cache: it downloads candle's YOLOv8 COCO weights
(``yolov8{n,s,m,l,x}.safetensors`` from the Hugging Face repo ``lmz/candle-yolo-v8``),
checks every tensor by loading it into the network, records its sha256 in a manifest (and
checks it on later pulls), exports the ONNX model beside it and makes that the default.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from gstreamed.defaults import MODEL_ENV, cache_dir
from gstreamed.errors import GstreamedError

log = logging.getLogger(__name__)

DEFAULT_MARKER = "default"  # file in the models cache naming the default model
MANIFEST = "manifest.json"  # sha256 and origin of each downloaded file
HUB_REPO = "lmz/candle-yolo-v8"
HUB_REVISION = "main"
ZOO_MODELS = tuple(f"yolov8{scale}" for scale in "nsmlx")


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
    default = default_model()
    if default is not None:
        return default
    raise GstreamedError(
        "no model: pass --model PATH.onnx, set $GSTREAMED_MODEL, or run "
        "'gstreamed models pull yolov8n' to download one into the cache"
    )


def default_model() -> Path | None:
    """The cached default model, if one is marked and present."""
    marker = models_dir() / DEFAULT_MARKER
    if marker.is_file():
        path = models_dir() / marker.read_text().strip()
        if path.is_file():
            return path
    return None


def set_default(name: str) -> Path:
    """Mark the cached model file ``name`` (e.g. ``yolov8s.onnx``) as the default."""
    path = models_dir() / name
    if not path.is_file():
        raise GstreamedError(
            f"no cached model {name!r} in {models_dir()}; see 'gstreamed models list'"
        )
    _write_atomic(models_dir() / DEFAULT_MARKER, name + "\n")
    return path


@dataclass(frozen=True)
class CachedModel:
    """A model file in the cache."""

    name: str
    path: Path
    size: int
    default: bool


def list_models() -> list[CachedModel]:
    """The model files (.onnx, .safetensors) in the cache, by name."""
    directory = models_dir()
    if not directory.is_dir():
        return []
    default = default_model()
    return [
        CachedModel(p.name, p, p.stat().st_size, p == default)
        for p in sorted(directory.iterdir())
        if p.suffix in (".onnx", ".safetensors") and p.is_file()
    ]


def pull(name: str, force: bool = False) -> Path:
    """Download (or re-check) zoo model ``name``, export it to ONNX, make that the default.

    Returns the ONNX path. ``force`` downloads and exports again even when cached.
    """
    if name not in ZOO_MODELS:
        raise GstreamedError(f"unknown model {name!r}; choose one of {', '.join(ZOO_MODELS)}")
    from gstreamed.backends.export import export_onnx

    weights = models_dir() / f"{name}.safetensors"
    onnx_path = weights.with_suffix(".onnx")
    manifest = _read_manifest()
    recorded = manifest.get(weights.name, {})
    fresh = force or not (weights.is_file() and recorded)
    if fresh:
        url = _download(weights.name, force)
        try:
            _check_weights(weights, name[-1])
        except GstreamedError:
            weights.unlink(missing_ok=True)
            raise
        manifest[weights.name] = {
            "sha256": sha256_of(weights),
            "size": weights.stat().st_size,
            "url": url,
            "downloaded": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        _write_atomic(models_dir() / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    else:
        actual, expected = sha256_of(weights), str(recorded["sha256"])
        if actual != expected:
            raise GstreamedError(
                f"{weights}: sha256 {actual[:12]}... differs from {expected[:12]}... "
                f"recorded at download; run 'gstreamed models pull {name} --force' to fetch "
                "it again"
            )
        log.info("%s: cached, sha256 matches the manifest", weights)
    if fresh or not onnx_path.is_file():
        export_onnx(weights, onnx_path, force=True)
    set_default(onnx_path.name)
    return onnx_path


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _endpoint() -> str | None:
    """``$HF_ENDPOINT`` now (huggingface_hub reads it only when imported)."""
    value = os.environ.get("HF_ENDPOINT", "").strip().rstrip("/")
    return value or None


def _offline() -> bool:
    """``$HF_HUB_OFFLINE`` now, with huggingface_hub's notion of true."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _download(filename: str, force: bool) -> str:
    """Fetch ``filename`` of HUB_REPO into the models directory; returns its URL."""
    from huggingface_hub import hf_hub_download, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

    where = f"{_endpoint() or 'the Hugging Face Hub'} ({HUB_REPO})"
    if _offline():
        raise GstreamedError(
            f"{filename} is not in the model cache (or not verified) and HF_HUB_OFFLINE is "
            f"set; unset it to "
            f"download from {where}, or pass --model PATH"
        )
    log.info("downloading %s from %s", filename, where)
    try:
        hf_hub_download(
            HUB_REPO,
            filename,
            revision=HUB_REVISION,
            local_dir=models_dir(),
            endpoint=_endpoint(),
            force_download=force,
        )
    except (HfHubHTTPError, OSError) as exc:  # "not in local cache" errors are OSErrors too
        if isinstance(exc, EntryNotFoundError) and isinstance(exc, HfHubHTTPError):
            raise GstreamedError(f"{where} has no file {filename}") from None
        cause = exc.__cause__ if isinstance(exc, EntryNotFoundError) and exc.__cause__ else exc
        text = str(cause).strip()
        reason = text.splitlines()[0] if text else type(cause).__name__
        raise GstreamedError(
            f"could not download {filename} from {where} ({reason}); check the network "
            "connection or set HF_ENDPOINT to a reachable Hub mirror, or pass --model "
            "PATH"
        ) from None
    return hf_hub_url(HUB_REPO, filename, revision=HUB_REVISION, endpoint=_endpoint())


def _check_weights(path: Path, scale: str) -> None:
    """Read and check ``path`` (every tensor's name and shape)."""
    from gstreamed.backends.yolov8_weights import load_weights

    try:
        loaded = load_weights(path)
    except GstreamedError as exc:
        raise GstreamedError(
            f"downloaded weights failed the check and were removed: {exc}"
        ) from None
    if loaded.scale != scale:
        raise GstreamedError(f"{path} holds YOLOv8{loaded.scale} weights, not YOLOv8{scale}")


def _read_manifest() -> dict[str, dict[str, object]]:
    path = models_dir() / MANIFEST
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise GstreamedError(
            f"{path}: unreadable manifest ({exc}); delete it and pull again"
        ) from None


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)
