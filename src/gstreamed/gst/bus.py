"""Running pipelines to their end: the bus loop, stop signals and error messages.

`play_all` plays several pipelines at once (one per input of a run) and polls their buses
from the calling thread. SIGINT (Ctrl-C), SIGTERM (``systemctl stop``, ``docker stop``) and
SIGHUP (a closed terminal) send end-of-stream to every pipeline, so muxers finalise their
files; a second signal stops at once. A pipeline that reports an error is asked to salvage
what it wrote (its ``salvage`` callback pushes end-of-stream into its branches) and is then
stopped; the others go on.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from gstreamed.errors import GstreamedError
from gstreamed.gst import Gst

log = logging.getLogger(__name__)

EOS_GRACE_S = 15.0  # how long to wait for muxers to finalise after a stop signal
SALVAGE_GRACE_S = 5.0  # how long a failed pipeline may take to finalise what it wrote
POLL_S = 0.05
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
WANTED = (
    Gst.MessageType.EOS
    | Gst.MessageType.ERROR
    | Gst.MessageType.WARNING
    | Gst.MessageType.ASYNC_DONE
    | Gst.MessageType.ELEMENT
)


def exit_status(signum: int) -> int:
    """The conventional exit status after a stop signal: 128 + its number."""
    return 128 + signum


@dataclass(eq=False)
class Playback:
    """One pipeline in `play_all`, and how it ended.

    ``on_message`` sees every message of interest; ``recover`` is offered each error first
    and returns True when it deals with it (a live source reconnecting); ``salvage`` is
    called once after an error, to finalise what was written, and returns whether there is
    anything to finalise (the pipeline then has `SALVAGE_GRACE_S` to reach end-of-stream;
    later errors are only logged, or explain a generic first one). ``on_poll`` is
    called about every `POLL_S` seconds, ``on_stop`` before end-of-stream is sent for a
    stop signal.
    """

    pipeline: Gst.Pipeline
    location: str
    on_message: Callable[[Gst.Message], None] | None = None
    salvage: Callable[[], bool] | None = None
    recover: Callable[[Gst.Message], bool] | None = None
    on_poll: Callable[[], None] | None = None
    on_stop: Callable[[], None] | None = None
    error: str | None = None
    finished: bool = False
    finalised: bool = False  # it reached end-of-stream: its muxers wrote their files whole
    ended_at: float | None = None  # perf_counter time it finished
    _deadline: float | None = field(default=None, repr=False)
    _generic: bool = field(default=False, repr=False)  # the error is "streaming stopped"
    _waiting: bool = field(default=True, repr=False)  # for end-of-stream until the deadline
    _ended_sinks: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        # The sinks' own end-of-stream messages, forwarded: a pipeline an error stopped on
        # its way to PLAYING never posts its own, though its sinks finalise (see `_handle`).
        self.pipeline.set_property("message-forward", True)

    def _finish(self) -> None:
        self.finished = True
        self.ended_at = time.perf_counter()
        self.pipeline.set_state(Gst.State.NULL)

    def start(self) -> None:
        """Set the pipeline playing; one that cannot start ends with its ``error`` set."""
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            message = self.pipeline.get_bus().timed_pop_filtered(
                2 * Gst.SECOND, Gst.MessageType.ERROR
            )
            self.error = (
                describe_error(message, self.location)
                if message
                else f"{self.location}: could not start the pipeline"
            )
            self._finish()

    def _stop(self, grace: float) -> None:
        """Send end-of-stream and give the pipeline ``grace`` seconds to finalise."""
        if not self.finished and self._deadline is None:
            if self.on_stop is not None:
                self.on_stop()
            self.pipeline.send_event(Gst.Event.new_eos())
            self._deadline = time.perf_counter() + grace

    def _handle(self, message: Gst.Message) -> None:
        if self.on_message is not None:
            self.on_message(message)
        if message.type == Gst.MessageType.EOS:
            self.finalised = True
            self._finish()
        elif message.type == Gst.MessageType.ERROR:
            if self.error is not None:
                # Already salvaging: upstream elements report the same failure again
                # ("Internal data stream error"); the grace deadline bounds the wait. A
                # resource error after a generic first one explains it.
                if self._generic and message.parse_error()[0].domain == "gst-resource-error-quark":
                    self.error, self._generic = describe_error(message, self.location), False
                log.debug("%s", message.parse_error()[0].message)
                return
            if self._deadline is None and self.recover is not None and self.recover(message):
                return
            self.error = describe_error(message, self.location)
            self._generic = _is_generic(message)
            self._deadline = time.perf_counter() + SALVAGE_GRACE_S
            if self.salvage is None or not self.salvage():
                # Nothing to finalise: only wait a moment for the error that explains it.
                self._deadline, self._waiting = time.perf_counter() + 4 * POLL_S, False

        elif message.type == Gst.MessageType.WARNING:
            log.warning("%s", message.parse_warning()[0].message)
        elif message.type == Gst.MessageType.ELEMENT and self.error is not None:
            self._on_forwarded(message)

    def _on_forwarded(self, message: Gst.Message) -> None:
        """While salvaging: once every sink has had end-of-stream, the outputs are whole."""
        structure = message.get_structure()
        if structure is None or structure.get_name() != "GstBinForwarded":
            return
        inner = structure.get_value("message")
        if inner is None or inner.type != Gst.MessageType.EOS or inner.src is None:
            return
        self._ended_sinks.add(inner.src.get_name())
        sinks = {sink.get_name() for sink in self.pipeline.iterate_sinks()}
        if sinks <= self._ended_sinks:
            self.finalised = True
            self._finish()

    def _poll(self) -> None:
        if self.on_poll is not None and not self.finished:
            self.on_poll()
        bus = self.pipeline.get_bus()
        while not self.finished and (message := bus.pop_filtered(WANTED)) is not None:
            self._handle(message)
        if (
            not self.finished
            and self._deadline is not None
            and time.perf_counter() > self._deadline
        ):
            if self._waiting:
                log.warning("%s: the pipeline did not finish in time; stopping it", self.location)
            self._finish()


class StopSignals:
    """Catches SIGINT, SIGTERM and SIGHUP while pipelines play (main thread only)."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)

    @contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """Handle the stop signals inside the block (in the main thread; elsewhere none)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def play_all(
    playbacks: Sequence[Playback],
    on_tick: Callable[[], bool | None] | None = None,
) -> int | None:
    """Play every pipeline to its end; returns the stop signal that interrupted the run.

    A pipeline that cannot start ends with its ``error`` set. ``on_tick`` is called about
    every `POLL_S` seconds; when it returns True the run stops as on SIGINT (outputs
    finalised).
    """
    stops = StopSignals()
    first: int | None = None
    with stops.installed():
        for playback in playbacks:
            playback.start()
        try:
            while not all(p.finished for p in playbacks):
                if stops.received:
                    if first is not None and len(stops.received) > 1:
                        log.warning("second stop signal: stopping at once, not finalising")
                        break
                    if first is None:
                        first = stops.received[0]
                        del stops.received[1:]
                        log.warning(
                            "%s: finishing the outputs (send it again to stop at once)",
                            signal.Signals(first).name,
                        )
                        for playback in playbacks:
                            playback._stop(EOS_GRACE_S)
                for playback in playbacks:
                    playback._poll()
                if on_tick is not None and on_tick() and not stops.received:
                    stops.received.append(signal.SIGINT)
                time.sleep(POLL_S)
        finally:
            for playback in playbacks:
                if not playback.finished:
                    playback._finish()
    return first


def play(pipeline: Gst.Pipeline, location: str) -> int | None:
    """Play one pipeline to its end (see `play_all`); its error raises `GstreamedError`."""
    playback = Playback(pipeline, location)
    interrupted = play_all([playback])
    if playback.error is not None:
        raise GstreamedError(playback.error)
    return interrupted


def _is_generic(message: Gst.Message) -> bool:
    """An element's "Internal data stream error": the cause is usually posted after it."""
    error, _debug = message.parse_error()
    return error.matches(Gst.StreamError.quark(), Gst.StreamError.FAILED)


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
