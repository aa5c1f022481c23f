"""``gstreamed models pull|list|default``: the user model cache."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from gstreamed.backends import zoo
from gstreamed.defaults import MODEL_ENV
from gstreamed.tables import print_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "models",
        help="download and list cached models",
        description=f"Manage the model cache ({zoo.models_dir()}; set $GSTREAMED_CACHE to move "
        "it). The default model is used when neither --model nor "
        "$GSTREAMED_MODEL is given.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    pull = actions.add_parser(
        "pull",
        help="download YOLOv8 COCO weights, export ONNX, make it the default",
        description=f"Download {zoo.HUB_REPO}/NAME.safetensors at commit "
        f"{zoo.HUB_REVISION[:12]} from the Hugging Face Hub ($HF_ENDPOINT and $HF_HUB_OFFLINE "
        "are honoured), check its size, sha256 and tensors, export "
        "NAME.onnx beside it and make that the default model.",
    )
    pull.add_argument("name", choices=zoo.ZOO_MODELS, help="model to download")
    pull.add_argument(
        "--force", action="store_true", help="download and export again even when cached"
    )
    actions.add_parser("list", help="list cached models (* marks the default)")
    default = actions.add_parser("default", help="make a cached model file the default")
    default.add_argument("name", help="cached file name, e.g. yolov8s.onnx")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "pull":
        print(zoo.pull(args.name, force=args.force, progress=ProgressLine(args.name)))
    elif args.action == "default":
        print(zoo.set_default(args.name))
    else:
        print_models()
    return 0


def print_models() -> None:
    """One line per cached model: default marker, name, size, path."""
    models = zoo.list_models()
    if not models:
        print(f"no cached models in {zoo.models_dir()}; run 'gstreamed models pull yolov8n'")
        return
    rows = [
        (("* " if m.default else "  ") + m.name, f"{m.size / 1e6:.1f} MB", str(m.path))
        for m in models
    ]
    print_table(("  NAME", "SIZE", "PATH"), rows, ruled=False)


class ProgressLine:
    """Download progress on stderr (bytes, %, rate): one line redrawn on a terminal, else the
    final line only."""

    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name, self.stream = name, stream or sys.stderr
        self.start = self.shown = time.monotonic()

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = done == total
        tty = self.stream.isatty()
        if not finished and (not tty or now - self.shown < 0.2):
            return
        self.shown = now
        rate = done / max(now - self.start, 1e-3) / 1e6
        size = (
            f"{done / 1e6:.1f}/{total / 1e6:.1f} MB ({100 * done / total:.0f}%)"
            if total
            else (f"{done / 1e6:.1f} MB")
        )
        line = f"downloading {self.name}: {size} at {rate:.1f} MB/s"
        self.stream.write(("\r" if tty else "") + line + ("\n" if finished else ""))
        self.stream.flush()


def download_default(model: str | None) -> None:
    """Download the default zoo model when no model is configured and none is cached: the
    first run of ``gstreamed INPUT`` or ``gstreamed demo`` needs no manual step."""
    if not zoo.needs_download(model):
        return
    name = zoo.DEFAULT_ZOO_MODEL
    print(
        f"gstreamed: no model given (--model, ${MODEL_ENV}) and none cached: downloading "
        f"{name} (YOLOv8n, 80 COCO classes) from {zoo.hub_url(name + '.safetensors')}",
        file=sys.stderr,
    )
    path = zoo.pull(name, progress=ProgressLine(f"{name}.safetensors"))
    print(
        f"gstreamed: checked {name}.safetensors (sha256) and exported {path}; it is the "
        f"default model from now on (cache: {zoo.models_dir()})",
        file=sys.stderr,
    )
