"""``gstreamed launch "PIPELINE"``: run a gst-launch style pipeline with the gstreamed elements."""

from __future__ import annotations

import argparse
import sys
import time

from gstreamed.errors import GstreamedError
from gstreamed.timing import Timings, timing_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "launch",
        help="run a gst-launch-1.0 style pipeline in-process",
        description="Run a pipeline description (as gst-launch-1.0 takes it) with the "
        "gstreamed_detect, gstreamed_track and gstreamed_overlay elements "
        "registered in this process; prints their timing table at the end.",
    )
    parser.add_argument("pipeline", nargs="+", help="pipeline description")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gstreamed.gst import GLib, Gst, init
    from gstreamed.gst.bus import exit_status, play
    from gstreamed.gst.elements import RgbFilter

    init()
    description = " ".join(args.pipeline)
    try:
        pipeline = Gst.parse_launch(description)
    except GLib.Error as exc:
        raise GstreamedError(f"invalid pipeline: {exc.message}") from None
    timings = Timings()
    ours = (
        [e for e in pipeline.iterate_recurse() if isinstance(e, RgbFilter)]
        if isinstance(pipeline, Gst.Bin)
        else []
    )
    for element in ours:
        element.timings = timings
    frames = 0

    def count(_pad: Gst.Pad, _info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        nonlocal frames
        frames += 1
        return Gst.PadProbeReturn.OK

    if ours:
        ours[-1].get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, count)
    start = time.perf_counter()
    stop_signal = play(pipeline, "pipeline")
    if ours and frames:
        print(
            timing_table(timings, frames, time.perf_counter() - start, "gstreamed launch"),
            file=sys.stderr,
        )
    return 0 if stop_signal is None else exit_status(stop_signal)
