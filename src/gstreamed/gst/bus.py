"""Running a pipeline to its end: the bus loop, Ctrl-C handling and error messages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from gstreamed.errors import GstreamedError
from gstreamed.gst import Gst

log = logging.getLogger(__name__)

EOS_GRACE_S = 15.0  # how long to wait for the muxer to finalise after Ctrl-C


def play(
    pipeline: Gst.Pipeline,
    location: str,
    on_tick: Callable[[Gst.Message | None], None] | None = None,
) -> bool:
    """Run ``pipeline`` to end-of-stream and stop it; returns whether Ctrl-C interrupted it.

    The first Ctrl-C sends EOS (muxers finalise, files stay playable) and waits up to
    `EOS_GRACE_S`; a second one stops at once. Pipeline errors raise `GstreamedError`.
    ``on_tick`` is called about every 100 ms with the last message (or None).
    """
    bus = pipeline.get_bus()
    wanted = (
        Gst.MessageType.EOS
        | Gst.MessageType.ERROR
        | Gst.MessageType.WARNING
        | Gst.MessageType.ASYNC_DONE
    )
    interrupted = False
    deadline: float | None = None
    try:
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            message = bus.timed_pop_filtered(2 * Gst.SECOND, Gst.MessageType.ERROR)
            raise GstreamedError(
                describe_error(message, location)
                if message
                else f"{location}: could not start the pipeline"
            )
        while True:
            try:
                message = bus.timed_pop_filtered(100 * Gst.MSECOND, wanted)
                if message is not None and message.type == Gst.MessageType.EOS:
                    break
                if message is not None and message.type == Gst.MessageType.ERROR:
                    raise GstreamedError(describe_error(message, location))
                if message is not None and message.type == Gst.MessageType.WARNING:
                    log.warning("%s", message.parse_warning()[0].message)
                if deadline is not None and time.perf_counter() > deadline:
                    log.warning("the pipeline did not finish within %.0f s of Ctrl-C", EOS_GRACE_S)
                    break
                if on_tick is not None:
                    on_tick(message)
            except KeyboardInterrupt:
                if interrupted:  # second Ctrl-C: stop at once
                    break
                interrupted = True
                log.warning("interrupted: finishing the output (Ctrl-C again to abort)")
                pipeline.send_event(Gst.Event.new_eos())
                deadline = time.perf_counter() + EOS_GRACE_S
    finally:
        pipeline.set_state(Gst.State.NULL)
    return interrupted


def describe_error(message: Gst.Message, location: str) -> str:
    """A one-line explanation of a pipeline error message."""
    error, _debug = message.parse_error()
    text = error.message.strip().rstrip(".")
    if error.matches(Gst.StreamError.quark(), Gst.StreamError.TYPE_NOT_FOUND):
        return f"{location}: not a video or image format GStreamer can read ({text})"
    if error.matches(Gst.CoreError.quark(), Gst.CoreError.MISSING_PLUGIN) or error.matches(
        Gst.StreamError.quark(), Gst.StreamError.CODEC_NOT_FOUND
    ):
        return f"{location}: no decoder for this format on this machine ({text})"
    if location in text:
        return text
    return f"{location}: {text}"
