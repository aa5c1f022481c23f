"""Where models come from: ``--model``, ``$GSTREAMED_MODEL``, or the user model cache.

``pull`` fills the cache: it downloads candle's YOLOv8 COCO weights
(``yolov8{n,s,m,l,x}.safetensors`` from the Hugging Face repo ``lmz/candle-yolo-v8`` at the
pinned commit HUB_REVISION), checks the bytes against the sha256 in HUB_FILES and every tensor's
name and shape, records the sha256 in a manifest (and checks it on later pulls), exports the
ONNX model beside it and makes that the default.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gstreamed import __version__
from gstreamed.defaults import MODEL_ENV, cache_dir
from gstreamed.errors import GstreamedError
from gstreamed.outfile import PendingFile

log = logging.getLogger(__name__)

DEFAULT_MARKER = "default"  # file in the models cache naming the default model
MANIFEST = "manifest.json"  # sha256 and origin of each downloaded file
HUB_REPO = "lmz/candle-yolo-v8"
HUB_REVISION = "be388c6fab95ae3035a039070e1b883b9c5a1325"  # a commit: its files never change
HUB_ENDPOINT = "https://huggingface.co"  # $HF_ENDPOINT overrides it (a mirror)
ZOO_MODELS = tuple(f"yolov8{scale}" for scale in "nsmlx")
DEFAULT_ZOO_MODEL = "yolov8n"  # downloaded on first run when no model is configured
TIMEOUT_S = 4.0  # per connection attempt and per read: offline fails fast, no retries


@dataclass(frozen=True)
class HubFile:
    """Size and sha256 of a file of HUB_REPO at HUB_REVISION (None: not recorded here)."""

    size: int
    sha256: str | None


# Sizes as the Hub lists them at HUB_REVISION. Only yolov8n's sha256 is recorded (as published
# alongside that commit); the others are checked by size and tensors, and their sha256 goes into
# the manifest at download.
HUB_FILES = {
    "yolov8n.safetensors": HubFile(
        6_369_332, "5788ff529e26961281ebeb26facecaea38ec9a79a3ad2282995ab899eb905626"
    ),
    "yolov8s.safetensors": HubFile(22_407_580, None),
    "yolov8m.safetensors": HubFile(51_918_852, None),
    "yolov8l.safetensors": HubFile(87_536_380, None),
    "yolov8x.safetensors": HubFile(136_636_180, None),
}

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


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


def needs_download(model: str | Path | None) -> bool:
    """Whether no model is configured (argument, ``$GSTREAMED_MODEL``, cached default)."""
    return not model and not os.environ.get(MODEL_ENV) and default_model() is None


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


def pull(name: str, force: bool = False, progress: Progress | None = None) -> Path:
    """Download (or re-check) zoo model ``name``, export it to ONNX, make that the default.

    Returns the ONNX path. ``force`` downloads and exports again even when cached;
    ``progress`` is called as bytes arrive.
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
        url = _download(weights.name, progress)
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


def hub_url(filename: str) -> str:
    """The download URL of ``filename`` at HUB_REVISION (on ``$HF_ENDPOINT`` when set)."""
    endpoint = os.environ.get("HF_ENDPOINT", "").strip().rstrip("/") or HUB_ENDPOINT
    return f"{endpoint}/{HUB_REPO}/resolve/{HUB_REVISION}/{filename}"


def _offline() -> bool:
    """``$HF_HUB_OFFLINE``, with huggingface_hub's notion of true."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _download(filename: str, progress: Progress | None) -> str:
    """Fetch ``filename`` of HUB_REPO into the models directory, checked against HUB_FILES;
    returns its URL. Nothing is cached unless the whole file arrived and checks out."""
    url = hub_url(filename)
    if _offline():
        raise GstreamedError(
            f"{filename} is not in the model cache (or not verified) and HF_HUB_OFFLINE is "
            f"set; unset it to download it ('gstreamed models pull {Path(filename).stem}' "
            f"fetches {url}), or pass --model PATH or set ${MODEL_ENV}"
        )
    # Imported here, not with the module: the elements import this module, and ssl loaded
    # inside gst-python's plugin scanner made it crash far more often (GStreamer 1.22).
    import http.client
    import urllib.error
    import urllib.request

    log.info("downloading %s", url)
    request = urllib.request.Request(url, headers={"User-Agent": f"gstreamed/{__version__}"})
    models_dir().mkdir(parents=True, exist_ok=True)
    try:
        with (
            PendingFile(models_dir() / filename, overwrite=True) as pending,
            pending.open() as out,
            urllib.request.urlopen(request, timeout=TIMEOUT_S) as response,
        ):
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            digest, done = hashlib.sha256(), 0
            while chunk := response.read(1 << 16):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            if progress:
                progress(done, done)
            _verify(filename, url, done, digest.hexdigest())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise GstreamedError(f"{url} does not exist (HTTP 404)") from None
        reason = f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        reason = str(exc.reason)
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, cut transfers
        reason = str(exc) or type(exc).__name__
    else:
        return url
    raise GstreamedError(
        f"could not download {url} ({reason}); check the network connection or set "
        f"HF_ENDPOINT to a reachable Hub mirror, or pass --model PATH or set ${MODEL_ENV}"
    )


def _verify(filename: str, url: str, size: int, sha256: str) -> None:
    """Raise GstreamedError unless the downloaded bytes are those HUB_FILES records."""
    expected = HUB_FILES[filename]
    if size != expected.size:
        raise GstreamedError(
            f"{url}: received {size} bytes, expected {expected.size}; nothing was cached"
        )
    if expected.sha256 is None:
        log.warning("%s: no recorded sha256; checked its size and tensors", filename)
    elif sha256 != expected.sha256:
        raise GstreamedError(
            f"{url}: sha256 {sha256[:12]}... is not the expected {expected.sha256[:12]}...; "
            "the download is corrupt or the file was replaced, nothing was cached"
        )


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
    with PendingFile(path, overwrite=True) as pending, pending.open() as f:
        f.write(text.encode())
