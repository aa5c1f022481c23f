"""``gstreamed [run] INPUT``: detect and track objects in a video, image, stream or camera."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gstreamed.commands.options import (
    add_detection_options,
    add_encoder_options,
    add_model_options,
    add_tracker_options,
    detector_from_args,
    encoder_params,
    tracker_from_args,
)
from gstreamed.errors import GstreamedError
from gstreamed.outputs import Outputs
from gstreamed.progress import Progress
from gstreamed.timing import Timings, timing_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run",
        help="process a video, image, URI or camera (the default command)",
        description="Detect and track objects; writes INPUT.out.mkv for videos and "
        "INPUT.out.jpg for images.",
    )
    parser.add_argument(
        "input",
        help="video or image file, URI (rtsp://, http://, file://) or camera device (/dev/video0)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="output path (default: INPUT.out.mkv, or INPUT.out.jpg for images)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument(
        "--no-output",
        action="store_true",
        help="write no annotated video/image (e.g. with --json or --live)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="write detections as JSON Lines, one object per frame",
    )
    parser.add_argument(
        "--mot",
        type=Path,
        default=None,
        metavar="PATH",
        help="write tracks in MOTChallenge format (frames 1-based)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="show the annotated stream in a window while writing the file",
    )
    parser.add_argument("--no-track", action="store_true", help="detect only, no tracking")
    parser.add_argument(
        "--no-audio",
        action="store_true",
        help="leave the input's audio track out of the output video",
    )
    add_encoder_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    add_model_options(parser)
    add_detection_options(parser)
    add_tracker_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gstreamed.gst.run import InputPipeline
    from gstreamed.gst.sources import classify

    source = classify(args.input)
    media = None if args.no_output else (args.output or source.default_output)
    outputs = Outputs(
        media=media,
        json=args.json,
        mot=args.mot,
        live=args.live,
        audio=not args.no_audio,
        encoder=encoder_params(args),
    )
    outputs.check(args.force)
    if args.mot and (source.is_image or args.no_track):
        raise GstreamedError("--mot needs tracking on a video (not an image, not --no-track)")
    if args.live and not _display_available():
        raise GstreamedError(
            "--live needs a display (set DISPLAY or WAYLAND_DISPLAY); "
            "run without --live to only write the file"
        )
    timings = Timings()
    detector = detector_from_args(args, timings)
    tracker_from_args(args)  # bad tracker options fail here, before the pipeline starts
    # ByteTrack's frame rate follows the stream: the element passes it once caps are known.
    make_tracker = (
        None if (source.is_image or args.no_track) else (lambda rate: tracker_from_args(args, rate))
    )
    progress = Progress(enabled=not args.no_progress and not source.is_image)
    result = InputPipeline(source, detector, outputs, make_tracker, progress).run()
    if not source.is_image:
        print(
            timing_table(
                result.timings,
                result.frames,
                result.seconds,
                title=f"gstreamed {args.backend} on {detector.backend.device}",
            ),
            file=sys.stderr,
        )
    if outputs.files:
        note = " (interrupted)" if result.interrupted else ""
        print(f"wrote {', '.join(map(str, outputs.files))}{note}", file=sys.stderr)
    return 130 if result.interrupted else 0


def _display_available() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
