"""The model cache: `gstreamed models pull/list` against a local Hub-protocol server."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from backend_helpers import random_tensors
from safetensors.numpy import save

from gstreamed.backends import load_backend, zoo
from gstreamed.errors import GstreamedError

COMMIT = hashlib.sha1(b"test revision").hexdigest()


class FakeHub:
    """Serves files at ``/{repo}/resolve/{revision}/{filename}`` as the Hub does.

    HEAD and GET answer with the headers huggingface_hub's ``hf_hub_download`` reads:
    ``X-Repo-Commit``, ``ETag`` and ``Content-Length``; a missing file is a 404 with
    ``X-Error-Code: EntryNotFound``.
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                hub.requests.append(("HEAD", self.path))
                self._answer(body=False)

            def do_GET(self) -> None:
                hub.requests.append(("GET", self.path))
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                prefix = f"/{zoo.HUB_REPO}/resolve/{zoo.HUB_REVISION}/"
                if not self.path.startswith(prefix):  # not a Hub route: a plain 404
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = hub.files.get(self.path[len(prefix) :])
                self.send_response(200 if data is not None else 404)
                self.send_header("X-Repo-Commit", COMMIT)
                if data is None:
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def gets(self) -> int:
        return sum(1 for method, _ in self.requests if method == "GET")


def _candle_file(scale: str = "n") -> bytes:
    return save(random_tensors("candle", scale=scale, num_classes=80))


@pytest.fixture(scope="module")
def yolov8n_bytes() -> bytes:
    return _candle_file()


def hub_files(data: bytes) -> dict[str, zoo.HubFile]:
    """zoo.HUB_FILES for a hub serving ``data`` as yolov8n (sha256 recorded) and yolov8s (size
    only): the real table holds the real files' checksums."""
    return {
        "yolov8n.safetensors": zoo.HubFile(len(data), hashlib.sha256(data).hexdigest()),
        "yolov8s.safetensors": zoo.HubFile(len(data), None),
    }


@pytest.fixture
def hub(yolov8n_bytes: bytes, monkeypatch, tmp_path) -> Iterator[FakeHub]:
    """A running FakeHub with yolov8n (and a mislabelled yolov8s), HF_ENDPOINT set to it and
    zoo.HUB_FILES describing its files."""
    server = FakeHub({"yolov8n.safetensors": yolov8n_bytes, "yolov8s.safetensors": yolov8n_bytes})
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(zoo, "HUB_FILES", hub_files(yolov8n_bytes))
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """An empty model cache; no $GSTREAMED_MODEL, online."""
    monkeypatch.setenv("GSTREAMED_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GSTREAMED_MODEL", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return tmp_path / "cache" / "models"


def test_pull_downloads_checks_exports_and_makes_default(hub: FakeHub, cache: Path) -> None:
    onnx_path = zoo.pull("yolov8n")
    assert onnx_path == cache / "yolov8n.onnx"
    path = f"/{zoo.HUB_REPO}/resolve/{zoo.HUB_REVISION}/yolov8n.safetensors"
    assert ("GET", path) in hub.requests
    assert len(zoo.HUB_REVISION) == 40  # a pinned commit, not a branch
    assert zoo.resolve_model(None) == onnx_path
    backend = load_backend(zoo.resolve_model(None), "ort")
    assert backend.info.input_size == (640, 640) and backend.info.names[0] == "person"
    manifest = json.loads((cache / zoo.MANIFEST).read_text())
    weights = cache / "yolov8n.safetensors"
    assert manifest["yolov8n.safetensors"]["sha256"] == zoo.sha256_of(weights)
    assert manifest["yolov8n.safetensors"]["url"].startswith(hub.url)
    listed = {m.name: m for m in zoo.list_models()}
    assert set(listed) == {"yolov8n.onnx", "yolov8n.safetensors"}
    assert listed["yolov8n.onnx"].default and not listed["yolov8n.safetensors"].default


def test_torch_backend_runs_the_weights_beside_a_pulled_model(hub: FakeHub) -> None:
    pytest.importorskip("torch")
    assert load_backend(zoo.pull("yolov8n"), "torch").info.names[0] == "person"


def test_second_pull_verifies_the_cache_without_downloading(hub: FakeHub, cache: Path) -> None:
    zoo.pull("yolov8n")
    gets = hub.gets()
    assert zoo.pull("yolov8n") == cache / "yolov8n.onnx"
    assert hub.gets() == gets
    weights = cache / "yolov8n.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(
        GstreamedError,
        match=r"differs from .* recorded at download; run 'gstreamed models pull yolov8n --force'",
    ):
        zoo.pull("yolov8n")
    zoo.pull("yolov8n", force=True)
    assert hub.gets() == gets + 1
    assert (
        zoo.sha256_of(weights)
        == json.loads((cache / zoo.MANIFEST).read_text())["yolov8n.safetensors"]["sha256"]
    )


def test_wrong_weights_are_removed(hub: FakeHub, cache: Path) -> None:
    with pytest.raises(GstreamedError, match="holds YOLOv8n weights, not YOLOv8s"):
        zoo.pull("yolov8s")
    assert not (cache / "yolov8s.safetensors").exists()
    assert zoo.default_model() is None


def test_file_missing_on_the_hub(hub: FakeHub) -> None:
    del hub.files["yolov8n.safetensors"]
    with pytest.raises(
        GstreamedError,
        match=r"lmz/candle-yolo-v8/resolve/\w{40}/yolov8n.safetensors does not exist",
    ):
        zoo.pull("yolov8n")


@pytest.mark.parametrize("change", ["sha256", "size"])
def test_checksum_or_size_mismatch_caches_nothing(
    hub: FakeHub, cache: Path, monkeypatch, change: str
) -> None:
    real = zoo.HUB_FILES["yolov8n.safetensors"]
    wrong = (
        zoo.HubFile(real.size, "0" * 64) if change == "sha256" else zoo.HubFile(real.size + 1, None)
    )
    monkeypatch.setitem(zoo.HUB_FILES, "yolov8n.safetensors", wrong)
    expected = "is not the expected 000000000000" if change == "sha256" else "expected"
    with pytest.raises(GstreamedError, match=expected) as error:
        zoo.pull("yolov8n")
    assert "nothing was cached" in str(error.value) and "\n" not in str(error.value)
    assert list(cache.iterdir()) == []  # not even a temporary file
    assert zoo.default_model() is None


def test_offline_with_empty_cache(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(GstreamedError, match="HF_HUB_OFFLINE is set; unset it") as error:
        zoo.pull("yolov8n")
    assert "\n" not in str(error.value)


def test_unreachable_endpoint(monkeypatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    start = time.monotonic()
    with pytest.raises(
        GstreamedError,
        match=r"could not download http://127.0.0.1:\d+/lmz/candle-yolo-v8/resolve/\w{40}/"
        r"yolov8n.safetensors \(.*refused\); check the network connection or set HF_ENDPOINT",
    ) as error:
        zoo.pull("yolov8n")
    assert time.monotonic() - start < 10  # no retries (the Hub client took ~23 s)
    assert "\n" not in str(error.value)


def test_endpoint_that_is_not_a_hub(hub: FakeHub, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url + "/not-a-hub")
    with pytest.raises(GstreamedError, match="does not exist") as error:
        zoo.pull("yolov8n")
    assert "\n" not in str(error.value)


def test_unknown_model_and_default() -> None:
    with pytest.raises(GstreamedError, match="unknown model 'yolov9n'"):
        zoo.pull("yolov9n")
    with pytest.raises(GstreamedError, match=r"no cached model 'x\.onnx'"):
        zoo.set_default("x.onnx")
    with pytest.raises(GstreamedError, match="models pull yolov8n"):
        zoo.resolve_model(None)


def test_resolve_model_prefers_argument_then_environment(tmp_path, monkeypatch) -> None:
    given, env = tmp_path / "a.onnx", tmp_path / "b.onnx"
    given.write_bytes(b"")
    env.write_bytes(b"")
    monkeypatch.setenv("GSTREAMED_MODEL", str(env))
    assert zoo.resolve_model(given) == given
    assert zoo.resolve_model(None) == env


def _models_command(*argv: str) -> int:
    from gstreamed.commands import models as command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["models", *argv])
    return args.func(args)


def test_models_command(hub: FakeHub, cache: Path, capsys) -> None:
    assert _models_command("list") == 0
    assert "no cached models" in capsys.readouterr().out
    assert _models_command("pull", "yolov8n") == 0
    assert capsys.readouterr().out.strip() == str(cache / "yolov8n.onnx")
    assert _models_command("list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("* yolov8n.onnx") and lines[2].startswith("  yolov8n.safetensors")
    assert _models_command("default", "yolov8n.safetensors") == 0
    assert zoo.resolve_model(None) == cache / "yolov8n.safetensors"


def test_models_cli_offline_is_one_line(tmp_path) -> None:
    from gstreamed.commands import SUBCOMMANDS

    if "models" not in SUBCOMMANDS:
        pytest.skip("'models' is not registered in gstreamed.commands.SUBCOMMANDS yet")
    env = {
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "GSTREAMED_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": str(Path(zoo.__file__).resolve().parents[2]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "gstreamed", "models", "pull", "yolov8n"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "HF_HUB_OFFLINE" in done.stderr


_FIRST_RUN = """
import sys
from gstreamed.backends import zoo
from gstreamed.cli import main
zoo.HUB_FILES = {"yolov8n.safetensors": zoo.HubFile(int(sys.argv[1]), sys.argv[2])}
sys.exit(main(sys.argv[3:]))
"""


def test_first_run_downloads_the_default_model(
    hub: FakeHub, yolov8n_bytes: bytes, tmp_path: Path
) -> None:
    import media

    image = media.make_image(tmp_path / "street.png")
    env = {
        "PATH": "/usr/bin:/bin",
        "GSTREAMED_CACHE": str(tmp_path / "cache"),
        "HF_ENDPOINT": hub.url,
        "PYTHONPATH": str(Path(zoo.__file__).resolve().parents[2]),
    }
    table = [str(len(yolov8n_bytes)), hashlib.sha256(yolov8n_bytes).hexdigest()]
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_RUN, *table, str(image), "--json", str(tmp_path / "d.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert f"downloading yolov8n (YOLOv8n, 80 COCO classes) from {hub.url}" in done.stderr
    size = len(yolov8n_bytes) / 1e6
    assert re.search(
        rf"downloading yolov8n.safetensors: {size:.1f}/{size:.1f} MB \(100%\) at [\d.]+ MB/s",
        done.stderr,
    )
    models = tmp_path / "cache" / "models"
    assert f"exported {models / 'yolov8n.onnx'}; it is the default model" in done.stderr
    assert (models / "yolov8n.safetensors").read_bytes() == yolov8n_bytes
    assert (tmp_path / "street.out.jpg").is_file()
    gets = hub.gets()
    again = subprocess.run(
        [sys.executable, "-c", _FIRST_RUN, *table, str(image), "--force", "--no-output"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert again.returncode == 0, again.stderr
    assert "downloading" not in again.stderr and hub.gets() == gets


def test_first_run_offline_is_one_line_and_fast(tmp_path: Path) -> None:
    import media

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "PATH": "/usr/bin:/bin",
        "GSTREAMED_CACHE": str(tmp_path / "cache"),
        "HF_ENDPOINT": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(Path(zoo.__file__).resolve().parents[2]),
    }
    image = media.make_image(tmp_path / "street.png")
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "gstreamed", str(image)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert time.monotonic() - start < 20  # interpreter and GStreamer start-up included
    assert done.returncode == 1 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("gstreamed: error:")]
    assert len(errors) == 1 and "could not download" in errors[0] and "--model PATH" in errors[0]
    assert not (tmp_path / "cache" / "models" / "yolov8n.safetensors").exists()


def test_cache_writes_do_not_follow_planted_symlinks(hub: FakeHub, cache: Path, tmp_path) -> None:
    cache.mkdir(parents=True)
    victims = {}
    for name in ("yolov8n.safetensors", "yolov8n.onnx", zoo.MANIFEST, zoo.DEFAULT_MARKER):
        victim = tmp_path / f"victim-{name}"
        victim.write_text("precious")
        (cache / f".{name}.partial").symlink_to(victim)  # the names earlier versions wrote to
        victims[name] = victim
    onnx_path = zoo.pull("yolov8n")
    assert all(v.read_text() == "precious" for v in victims.values())
    assert load_backend(onnx_path, "ort").info.names[0] == "person"
    assert zoo.resolve_model(None) == onnx_path
    assert json.loads((cache / zoo.MANIFEST).read_text())["yolov8n.safetensors"]["size"] > 0
