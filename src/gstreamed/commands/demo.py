"""``gstreamed demo``: make a sample clip and run the full pipeline on it (the main job)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gstreamed.errors import GstreamedError


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo",
        help="make a sample clip and detect + track objects in it",
        description="Write a short sample clip (photos moving across a street) into DIR, then "
        "run 'gstreamed run' on it with the default model: DIR/sample.mp4.out.mkv "
        "and DIR/sample.mp4.jsonl.",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("out"),
        help="where to write the clip and results (default: ./out)",
    )
    parser.add_argument(
        "--model",
        metavar="PATH",
        help="model (default: $GSTREAMED_MODEL or the cached default model)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gstreamed.backends.zoo import resolve_model
    from gstreamed.cli import main
    from gstreamed.commands.models import download_default
    from gstreamed.gst.samples import write_clip

    download_default(args.model)
    model = resolve_model(args.model)  # fail before making the clip when there is no model
    if args.dir.exists() and not args.dir.is_dir():
        raise GstreamedError(f"{args.dir} exists and is not a directory")
    args.dir.mkdir(parents=True, exist_ok=True)
    clip = write_clip(args.dir / "sample.mp4")
    print(f"sample clip: {clip}")
    return main(
        [
            "run",
            str(clip),
            "--model",
            str(model),
            "--force",
            "--json",
            str(args.dir / "sample.mp4.jsonl"),
        ]
    )
