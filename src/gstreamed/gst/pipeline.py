"""Pipelines the CLI runs: source → decode → convert → detect → track → overlay → outputs.

Every element is made with ``Gst.ElementFactory.make`` and configured through properties;
user-given paths and URIs are never spliced into a ``parse_launch`` string.
Queues split the work onto threads: decoding, colour conversion, inference and encoding
overlap (onnxruntime, OpenCV and the encoders release the GIL).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gi.repository import GLib, Gst

from gstreamed import defaults
from gstreamed.detect.detector import Detector
from gstreamed.errors import GstreamedError
from gstreamed.gst import init, meta
from gstreamed.progress import Progress
from gstreamed.results import JsonlWriter, ResultWriter
from gstreamed.timing import Timings
from gstreamed.track import Tracker
from gstreamed.track.mot import MotWriter

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".webp",
    ".tif",
    ".tiff",
    ".gif",
    ".pnm",
    ".ppm",
    ".pgm",
}
EOS_GRACE_S = 15.0  # how long to wait for the muxer to finalise after Ctrl-C
# Image formats decodebin decodes wrongly, read with the GdkPixbuf decoder instead:
# avdec_bmp / avdec_tiff fail on a lone image ("No valid frames decoded"), and pngdec
# (1.22) labels 16-bit RGB as ARGB64, which shifts the channels.
PIXBUF_IMAGES = ("image/bmp", "image/tiff", "image/png")


@dataclass(frozen=True)
class Source:
    """What the user pointed at: a local file, a URI or a camera device."""

    kind: str  # "file", "uri" or "camera"
    location: str
    is_image: bool = False

    @property
    def default_output(self) -> Path:
        """The seed's naming: ``clip.mp4`` → ``clip.mp4.out.mkv``, ``a.jpg`` → ``a.out.jpg``.

        Streams and cameras write into the current directory, named after the URI's last
        path segment (or host) or the device: ``rtsp://cam/live`` → ``live.out.mkv``.
        """
        if self.kind != "file":
            uri_path = self.location.split("://", 1)[-1].split("?", 1)[0].rstrip("/")
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", uri_path.rsplit("/", 1)[-1]) or "stream"
            return Path(f"{stem}.out.mkv")
        path = Path(self.location)
        return path.with_suffix(".out.jpg") if self.is_image else Path(f"{path}.out.mkv")


def classify(target: str) -> Source:
    """Decide how to read ``target``; checks local files before any pipeline starts."""
    if "://" in target:
        if not Gst.Uri.is_valid(target):
            raise GstreamedError(f"not a valid URI: {target}")
        if target.startswith("file://"):
            return classify(Gst.Uri.get_location(target) or "")
        if not Gst.Uri.protocol_is_supported(Gst.URIType.SRC, Gst.Uri.get_protocol(target)):
            raise GstreamedError(
                f"no GStreamer source handles {Gst.Uri.get_protocol(target)}://"
                " URIs on this machine"
            )
        return Source("uri", target)
    if target.startswith("/dev/video"):
        if not os.path.exists(target):
            raise GstreamedError(f"camera not found: {target}")
        return Source("camera", target)
    path = Path(target)
    if not path.exists():
        raise GstreamedError(f"input not found: {target}")
    if path.is_dir():
        raise GstreamedError(f"input is a directory, not a file: {target}")
    if path.stat().st_size == 0:
        raise GstreamedError(f"input is empty (0 bytes): {target}")
    if not os.access(path, os.R_OK):
        raise GstreamedError(f"input is not readable: {target}")
    return Source("file", str(path), path.suffix.lower() in IMAGE_SUFFIXES)


def make(factory: str, name: str | None = None, **props: object) -> Gst.Element:
    """Create an element and set its properties (``speed_preset`` → ``speed-preset``)."""
    element = Gst.ElementFactory.make(factory, name)
    if element is None:
        raise GstreamedError(
            f"GStreamer element '{factory}' is missing; install the GStreamer "
            "plugins listed in the README"
        )
    for key, value in props.items():
        element.set_property(key.rstrip("_").replace("_", "-"), value)
    return element


def link(*elements: Gst.Element) -> None:
    """Link elements in order; raise when two of them cannot be linked."""
    for upstream, downstream in itertools.pairwise(elements):
        if not upstream.link(downstream):
            raise GstreamedError(f"cannot link {upstream.get_name()} to {downstream.get_name()}")


def mp4_pipeline(path: Path, *sources: Gst.Element, keyframe_every: int = 30) -> Gst.Pipeline:
    """``sources`` (raw video) → x264 (ultrafast) → MP4 file at ``path``: for generated clips."""
    encoder = make("x264enc", key_int_max=keyframe_every)
    Gst.util_set_object_arg(encoder, "speed-preset", "ultrafast")
    elements = [
        *sources,
        make("videoconvert"),
        encoder,
        make("h264parse"),
        make("mp4mux"),
        make("filesink", location=str(path)),
    ]
    pipeline = Gst.Pipeline.new("clip")
    for element in elements:
        pipeline.add(element)
    link(*elements)
    return pipeline


@dataclass
class Outputs:
    """Where results go: annotated video/image, JSON Lines, MOTChallenge, live display."""

    media: Path | None = None
    json: Path | None = None
    mot: Path | None = None
    live: bool = False
    audio: bool = True  # keep the first audio track (re-encoded as Opus) in video outputs
    encoder_preset: str = defaults.ENCODER_PRESET
    quality: int = defaults.ENCODER_QUALITY

    @property
    def files(self) -> list[Path]:
        """The files this run writes."""
        return [p for p in (self.media, self.json, self.mot) if p is not None]

    def check(self, force: bool) -> None:
        """Refuse, before anything runs, to overwrite a file without ``force``, to write into a
        missing directory or onto a directory, or to write two outputs to one file."""
        for path in self.files:
            if path.exists() and not force:
                raise GstreamedError(f"{path} already exists; use --force to overwrite it")
            if path.is_dir():
                raise GstreamedError(f"{path} is a directory; give a file path")
            if not path.parent.exists():
                raise GstreamedError(f"output directory does not exist: {path.parent}")
        if len({p.resolve() for p in self.files}) < len(self.files):
            raise GstreamedError("the video/image, JSON and MOT outputs must be different files")


@dataclass
class RunResult:
    """What a run did: frames processed, wall time, whether the user interrupted it."""

    frames: int
    seconds: float
    interrupted: bool = False
    timings: Timings = field(default_factory=Timings)


class Job:
    """One pipeline run over one source, with the detector (and tracker) already loaded."""

    def __init__(
        self,
        source: Source,
        detector: Detector,
        outputs: Outputs,
        make_tracker: Callable[[float | None], Tracker] | None = None,
        progress: Progress | None = None,
    ) -> None:
        """``make_tracker(frame_rate)`` builds the tracker once the stream's rate is known;
        ``None`` runs without tracking."""
        init()
        self.source, self.detector, self.outputs = source, detector, outputs
        self.make_tracker = make_tracker
        self.timings = detector.timings
        self.progress = progress or Progress(enabled=False)
        self.pipeline = Gst.Pipeline.new("gstreamed")
        self._video_linked = False
        self._audio_linked = False
        self._mux: Gst.Element | None = None
        self._writers: list[ResultWriter] = []
        self._frame = 0
        self._build()

    # --- building -------------------------------------------------------------------------

    def _add(self, *elements: Gst.Element) -> None:
        for element in elements:
            self.pipeline.add(element)

    def _build(self) -> None:
        decoder = self._source_elements()
        # Processing chain; the first queue decouples decoding from conversion + inference.
        self.entry = make(
            "queue", "decode_queue", max_size_buffers=4, max_size_time=0, max_size_bytes=0
        )
        convert = make("videoconvert", "to_rgb")
        rgb = make("capsfilter", caps=Gst.Caps.from_string("video/x-raw,format=RGB"))
        infer_queue = make(
            "queue", "infer_queue", max_size_buffers=2, max_size_time=0, max_size_bytes=0
        )
        detect = make("gstreamed_detect", "detect")
        detect.detector = self.detector
        detect.timings = self.timings
        chain = [self.entry, convert, rgb, infer_queue, detect]
        if self.make_tracker is not None:
            track = make("gstreamed_track", "track")
            track.make_tracker = self.make_tracker
            track.timings = self.timings
            chain.append(track)
        overlay = make("gstreamed_overlay", "overlay")
        overlay.timings = self.timings
        chain.append(overlay)
        self._add(*chain)
        link(*chain)
        overlay.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, self._on_result)
        self._open_writers()
        tail = overlay
        if self.outputs.live:
            tee = make("tee", "split")
            self._add(tee)
            link(overlay, tee)
            tail = tee
            self._display_branch(tee)
        self._media_branch(tail)
        decoder.connect("pad-added", self._on_pad_added)
        decoder.connect("no-more-pads", self._on_no_more_pads)

    def _source_elements(self) -> Gst.Element:
        """Add the source and its decoder; returns the element whose pads appear later."""
        if self.source.kind == "uri":
            decoder = make("uridecodebin", "source", uri=self.source.location)
            self._add(decoder)
            return decoder
        if self.source.kind == "camera":
            src = make("v4l2src", "source", device=self.source.location)
        else:
            src = make("filesrc", "source", location=self.source.location)
        decoder = make("decodebin", "decoder")
        if self.source.is_image and Gst.ElementFactory.find("gdkpixbufdec") is not None:
            decoder.connect("autoplug-continue", self._on_autoplug_continue)
        self._add(src, decoder)
        link(src, decoder)
        return decoder

    def _media_branch(self, tail: Gst.Element) -> None:
        """Encoder + muxer + file sink (or JPEG for images); a fakesink when no file is wanted."""
        if self.outputs.media is None:
            elements = [make("queue", "out_queue"), make("fakesink", "sink", sync=False)]
        elif self.source.is_image:
            elements = [
                make("videoconvert", "out_convert"),
                make("jpegenc", quality=92),
                make("filesink", "sink", location=str(self.outputs.media)),
            ]
        else:
            convert, chroma = make("videoconvert", "out_convert"), make("capsfilter", "chroma")
            convert.get_static_pad("sink").add_probe(
                Gst.PadProbeType.EVENT_DOWNSTREAM, self._on_encoder_caps, chroma
            )
            elements = [
                make(
                    "queue", "encode_queue", max_size_buffers=8, max_size_time=0, max_size_bytes=0
                ),
                convert,
                chroma,
                self._encoder(),
                make("h264parse"),
                make("matroskamux", "mux"),
                make("filesink", "sink", location=str(self.outputs.media)),
            ]
            self._mux = elements[-2]
        self._add(*elements)
        link(tail, *elements)

    @staticmethod
    def _on_encoder_caps(
        _pad: Gst.Pad, info: Gst.PadProbeInfo, chroma: Gst.Element
    ) -> Gst.PadProbeReturn:
        """Pick the encoder's chroma format once the frame size is known.

        From RGB, videoconvert would choose 4:4:4, whose H.264 profile (High 4:4:4) most
        players and hardware decoders cannot play; so 4:2:0 (I420). x264 needs even sizes
        for 4:2:0, so odd-sized frames keep their exact size in 4:4:4 (Y444).
        """
        event = info.get_event()
        if event.type == Gst.EventType.CAPS:
            structure = event.parse_caps().get_structure(0)
            _, width = structure.get_int("width")
            _, height = structure.get_int("height")
            chroma_format = "I420" if width % 2 == 0 and height % 2 == 0 else "Y444"
            chroma.set_property("caps", Gst.Caps.from_string(f"video/x-raw,format={chroma_format}"))
        return Gst.PadProbeReturn.OK

    def _encoder(self) -> Gst.Element:
        """x264 in constant-quality mode with the chosen speed preset."""
        encoder = make("x264enc", "encoder")
        Gst.util_set_object_arg(encoder, "speed-preset", self.outputs.encoder_preset)
        Gst.util_set_object_arg(encoder, "pass", "quant")
        encoder.set_property("quantizer", self.outputs.quality)
        return encoder

    def _display_branch(self, tee: Gst.Element) -> None:
        """A leaky queue to a window: a slow display drops frames, never slows the file."""
        elements = [
            make(
                "queue",
                "display_queue",
                leaky=2,
                max_size_buffers=2,
                max_size_time=0,
                max_size_bytes=0,
            ),
            make("videoconvert", "display_convert"),
            make("autovideosink", "display", sync=False),
        ]
        self._add(*elements)
        link(tee, *elements)

    def _open_writers(self) -> None:
        if self.outputs.json is not None:
            self._writers.append(JsonlWriter(self.outputs.json))
        if self.outputs.mot is not None:
            self._writers.append(MotWriter(self.outputs.mot))

    def _discard_outputs(self) -> None:
        for path in self.outputs.files:
            if path.is_file():  # never a device such as /dev/null
                path.unlink()

    # --- streaming-thread callbacks ------------------------------------------------------

    @staticmethod
    def _on_autoplug_continue(_decoder: Gst.Element, _pad: Gst.Pad, caps: Gst.Caps) -> bool:
        """Stop decodebin at `PIXBUF_IMAGES`: `_on_pad_added` decodes them with GdkPixbuf."""
        return caps.get_structure(0).get_name() not in PIXBUF_IMAGES

    def _on_pad_added(self, _decoder: Gst.Element, pad: Gst.Pad) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        kind = caps.get_structure(0).get_name() if caps and caps.get_size() else ""
        if kind in PIXBUF_IMAGES and not self._video_linked:
            pixbuf = make("gdkpixbufdec")
            self.pipeline.add(pixbuf)
            pixbuf.link(self.entry)
            pixbuf.sync_state_with_parent()
            self._video_linked = pad.link(pixbuf.get_static_pad("sink")) == Gst.PadLinkReturn.OK
            return
        if kind.startswith("video/") and not self._video_linked:
            self._video_linked = pad.link(self.entry.get_static_pad("sink")) == Gst.PadLinkReturn.OK
            return
        if (
            kind.startswith("audio/")
            and self._mux is not None
            and self.outputs.audio
            and not self._audio_linked
        ):
            self._audio_linked = self._link_audio(pad)
            return
        # Subtitles, a second video or audio stream: consume and drop them.
        sink = make("fakesink", sync=False, async_=False)
        self.pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))

    def _link_audio(self, pad: Gst.Pad) -> bool:
        """Re-encode the first audio track as Opus into the output file."""
        assert self._mux is not None
        chain = [
            make(
                "queue",
                "audio_queue",
                max_size_time=3 * Gst.SECOND,
                max_size_buffers=0,
                max_size_bytes=0,
            ),
            make("audioconvert"),
            make("audioresample"),
            make("opusenc", "audio_encoder"),
        ]
        self._add(*chain)
        link(*chain)
        if not chain[-1].link(self._mux):
            return False
        for element in chain:
            element.sync_state_with_parent()
        return pad.link(chain[0].get_static_pad("sink")) == Gst.PadLinkReturn.OK

    def _on_no_more_pads(self, decoder: Gst.Element) -> None:
        if not self._video_linked:
            message = f"{self.source.location}: no video stream (or an undecodable one)"
            decoder.post_message(
                Gst.Message.new_error(
                    decoder,
                    GLib.Error.new_literal(
                        Gst.StreamError.quark(), message, Gst.StreamError.WRONG_TYPE
                    ),
                    message,
                )
            )

    def _on_result(self, pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        buffer = info.get_buffer()
        if self._writers:
            detections = meta.read(buffer)
            pts = None if self.source.is_image else stream_seconds(pad, buffer.pts)
            for writer in self._writers:
                writer.write(self._frame, pts, detections)
        self._frame += 1
        self.progress.frame_done()
        return Gst.PadProbeReturn.OK

    # --- running --------------------------------------------------------------------------

    def _expected_frames(self) -> int | None:
        """Frame count from duration × frame rate, when the source knows its duration."""
        ok, duration = self.pipeline.query_duration(Gst.Format.TIME)
        caps = self.entry.get_static_pad("src").get_current_caps()
        if not ok or duration <= 0 or caps is None:
            return None
        ok_rate, num, den = caps.get_structure(0).get_fraction("framerate")
        if not ok_rate or num <= 0:
            return None
        return round(duration / Gst.SECOND * num / den)

    def run(self) -> RunResult:
        """Play to end-of-stream; Ctrl-C sends EOS so outputs are finalised and playable.

        A run that processed no frame (unreadable input, no video stream) removes the files
        it created: they hold nothing, and the media file is not playable.
        """
        start = time.perf_counter()

        def on_tick(message: Gst.Message | None) -> None:
            if (
                self.progress.total is None
                and message is not None
                and message.type == Gst.MessageType.ASYNC_DONE
            ):
                self.progress.total = self._expected_frames()
            self.progress.tick()

        try:
            interrupted = play(self.pipeline, self.source.location, on_tick)
            if not interrupted:  # the estimate follows the container's duration, which an
                self.progress.total = self._frame  # audio track may make longer: now exact
        finally:
            for writer in self._writers:
                writer.close()
            self.progress.finish()
            if self._frame == 0:
                self._discard_outputs()
        if self._frame == 0 and not interrupted:
            raise GstreamedError(f"{self.source.location}: no frames decoded")
        return RunResult(self._frame, time.perf_counter() - start, interrupted, self.timings)


def stream_seconds(pad: Gst.Pad, pts: int) -> float | None:
    """A buffer timestamp as stream time in seconds: 0 at the first frame, as players show it.

    Demuxers may start the segment later than 0 (an MP4 edit list hiding B-frame delay puts
    the first PTS at e.g. 0.067 s); the pad's segment maps that back to stream time.
    """
    if pts == Gst.CLOCK_TIME_NONE:
        return None
    event = pad.get_sticky_event(Gst.EventType.SEGMENT, 0)
    if event is not None:
        pts = event.parse_segment().to_stream_time(Gst.Format.TIME, pts)
        if pts == Gst.CLOCK_TIME_NONE:  # outside the segment
            return None
    return pts / Gst.SECOND


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
