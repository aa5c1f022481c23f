"""``gstreamed [run] INPUT...``: detect and track objects in videos, images, streams, cameras.

Several inputs (files, URIs, cameras, folders, glob patterns) run concurrently in one process
with one shared, batched model; each keeps its own tracker and outputs. With ``--ray`` they are
spread over the worker processes of a Ray cluster instead (`gstreamed.gst.cluster`).
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from gstreamed.commands.models import download_default
from gstreamed.commands.options import (
    add_batch_options,
    add_cluster_options,
    add_detection_options,
    add_encoder_options,
    add_model_options,
    add_tracker_options,
    batch_params,
    cluster_params,
    detector_from_args,
    encoder_params,
    tracker_from_args,
)
from gstreamed.errors import GstreamedError
from gstreamed.inputs import expand
from gstreamed.tables import text_table
from gstreamed.timing import timing_table

if TYPE_CHECKING:
    from gstreamed.gst.cluster import ClusterSummary
    from gstreamed.gst.run import InputResult
    from gstreamed.gst.runner import RunSummary

RECONNECT_TIMEOUT_S = 600.0  # how long a lost live source is retried by default


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run",
        help="process videos, images, URIs or cameras (the default command)",
        description="Detect and track objects; writes INPUT.out.mkv for videos and "
        "INPUT.out.jpg for images. Several inputs (also folders and glob patterns) run "
        "together in one process with one shared, batched model.",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="video or image file, folder, glob pattern, URI (rtsp://, http://, file://) or "
        "camera device (/dev/video0)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="output path (default: INPUT.out.mkv, or INPUT.out.jpg for images); with several "
        "inputs, or an existing folder, the folder that gets each input's default-named file",
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
        help="write detections as JSON Lines, one object per frame (several inputs: one "
        "file, each object with its 'source')",
    )
    parser.add_argument(
        "--mot",
        type=Path,
        default=None,
        metavar="PATH",
        help="write tracks in MOTChallenge format (frames 1-based); with several inputs a "
        "folder of one NAME.txt per input",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="show the annotated stream in a window while writing the file (one input)",
    )
    parser.add_argument("--no-track", action="store_true", help="detect only, no tracking")
    parser.add_argument(
        "--no-audio",
        action="store_true",
        help="leave the input's audio track out of the output video",
    )
    add_encoder_options(parser)
    parser.add_argument(
        "--reconnect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="retry a lost RTSP source with back-off and go on into the same outputs (default: on)",
    )
    parser.add_argument(
        "--reconnect-timeout",
        type=float,
        default=RECONNECT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"give up on a lost live source after this long (default {RECONNECT_TIMEOUT_S:g}; "
        "0: never retry)",
    )
    parser.add_argument(
        "--segment-time",
        type=_duration,
        default=None,
        metavar="DURATION",
        help="cut the video output into files of about this length (30s, 10m, 1h), cut on "
        "keyframes: NAME.out.00001.mkv, NAME.out.00002.mkv, ...",
    )
    parser.add_argument(
        "--max-segments",
        type=int,
        default=None,
        metavar="N",
        help="with --segment-time: keep only the newest N segments (a ring)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress lines")
    add_model_options(parser)
    add_detection_options(parser)
    add_batch_options(parser)
    add_tracker_options(parser)
    add_cluster_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gstreamed.gst.cluster import ClusterSummary, run_on_cluster
    from gstreamed.gst.runner import Runner, make_inputs

    several = len(expand(args.inputs)) > 1
    if args.live and args.ray:
        raise GstreamedError("--live shows a window on this machine; run without --ray")
    if args.segment_time is not None and args.ray:
        raise GstreamedError("--segment-time is not supported with --ray yet")
    if args.live and several:
        raise GstreamedError("--live shows one input; run the others without it")
    if args.live and not _display_available():
        raise GstreamedError(
            "--live needs a display (set DISPLAY or WAYLAND_DISPLAY); "
            "run without --live to only write the file"
        )
    if args.max_segments is not None and (args.segment_time is None or args.max_segments < 1):
        raise GstreamedError("--max-segments needs --segment-time and a count >= 1")
    if args.reconnect_timeout < 0:
        raise GstreamedError("--reconnect-timeout must be >= 0 seconds")
    if args.mot and args.no_track:
        raise GstreamedError("--mot needs tracking on a video (not an image, not --no-track)")
    inputs = make_inputs(
        args.inputs,
        args.output,
        no_media=args.no_output,
        json=args.json,
        mot=args.mot,
        live=args.live,
        audio=not args.no_audio,
        encoder=encoder_params(args),
        force=args.force,
        segment_time=args.segment_time,
        max_segments=args.max_segments,
    )
    sources = [item.source for item in inputs if item.source is not None]
    if args.mot and sources and all(s.is_image for s in sources):
        raise GstreamedError("--mot needs tracking on a video (not an image, not --no-track)")
    download_default(args.model)  # first run: fetch the default model
    detector = detector_from_args(args)
    tracker_from_args(args)  # bad tracker options fail here, before any pipeline starts
    # A tracker's frame rate follows its stream: the element passes it with the caps.
    make_tracker = None if args.no_track else partial(tracker_from_args, args)
    if args.ray:
        summary: RunSummary = run_on_cluster(
            inputs,
            partial(detector_from_args, args),
            address=args.ray,
            params=cluster_params(args),
            batching=batch_params(args),
            make_tracker=make_tracker,
            progress=not args.no_progress,
            force=args.force,
        )
    else:
        summary = Runner(
            inputs,
            detector,
            batching=batch_params(args),
            make_tracker=make_tracker,
            progress=not args.no_progress,
            reconnect_timeout=args.reconnect_timeout if args.reconnect else 0.0,
        ).run()
    if summary.frames and not all(s.is_image for s in sources):
        table = timing_table(
            summary.timings,
            summary.frames,
            summary.seconds,
            title=f"gstreamed {args.backend} on {detector.backend.device}",
        )
        print(table + _batch_line(summary.batch_sizes), file=sys.stderr)
    if isinstance(summary, ClusterSummary):
        print(_cluster_line(summary, args.ray), file=sys.stderr)
    if several:
        print(_summary_table(summary.results), file=sys.stderr)
    for result in summary.results:
        if result.error:
            print(f"gstreamed: error: {result.error}", file=sys.stderr)
    written = [p for result in summary.results for p in result.outputs if str(p) != "-"]
    if written:
        note = " (interrupted)" if summary.stop_signal is not None else ""
        print(f"wrote {', '.join(dict.fromkeys(map(str, written)))}{note}", file=sys.stderr)
    return summary.exit_status


def _batch_line(batch_sizes: dict[int, int]) -> str:
    """``forward passes by batch size: 1 x 12, 4 x 120``."""
    if not batch_sizes:
        return ""
    parts = ", ".join(f"{size} x {count}" for size, count in sorted(batch_sizes.items()))
    return f"forward passes by batch size (frames x passes): {parts}\n"


def _cluster_line(summary: ClusterSummary, address: str) -> str:
    """``ray: local cluster (1 node) ready in 4.1 s; 8 inputs in 12.3 s``."""
    where = "local cluster" if address == "local" else f"cluster {address}"
    return (
        f"ray: {where} ({summary.nodes} node{'s' if summary.nodes != 1 else ''}) ready in "
        f"{summary.startup_seconds:.1f} s; {len(summary.results)} input(s) in "
        f"{summary.seconds:.1f} s"
    )


def _summary_table(results: list[InputResult]) -> str:
    """One row per input: frames, frames/s, how it ended, what it wrote."""
    rows = []
    for r in results:
        fps = r.frames / r.seconds if r.seconds > 0 else 0.0
        status = "failed" if r.error else "stopped" if r.interrupted else "done"
        outputs = ", ".join(str(p) for p in r.outputs) or "-"
        rows.append((r.source, str(r.frames), f"{fps:.1f}", status, outputs))
    return text_table(("input", "frames", "fps", "status", "outputs"), rows, "inputs")


def _duration(text: str) -> float:
    """``90``, ``90s``, ``10m``, ``1.5h`` → seconds (> 0)."""
    scale = {"s": 1, "m": 60, "h": 3600}.get(text[-1:].lower(), 0)
    try:
        seconds = float(text[:-1] if scale else text) * (scale or 1)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30s, 10m, 1h)")
    return seconds


def _display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
