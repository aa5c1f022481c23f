"""``gstreamed models pull|list|default``: the user model cache."""

from __future__ import annotations

import argparse

from gstreamed.backends import zoo
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
        description=f"Download {zoo.HUB_REPO}/NAME.safetensors from the Hugging Face Hub "
        "($HF_ENDPOINT and $HF_HUB_OFFLINE are honoured), check it, export "
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
        print(zoo.pull(args.name, force=args.force))
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
