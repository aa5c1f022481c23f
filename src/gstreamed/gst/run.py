"""The pipeline of one input: source → decode → convert → detect → track → overlay → outputs.

Every element is made with ``Gst.ElementFactory.make`` and configured through properties;
user-given paths and URIs are never spliced into a ``parse_launch`` string.
Queues split the work onto threads: decoding, colour conversion, inference and encoding
overlap (onnxruntime, OpenCV and the encoders release the GIL).

Why this file is long (~830 lines): one `InputPipeline` owns the whole life of an input's
pipeline — building it, the streaming-thread callbacks, reconnecting a lost live source,
segments, salvage after an error — and these share its state (frame counters, pads, pending
files). The seams to split it at next: the source side (reconnect, `_on_pad_added`) and the
output side (media branch, segments) as two helper classes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gi.repository import GLib, Gst

from gstreamed.detect.detector import Detector
from gstreamed.errors import GstreamedError
from gstreamed.gst import init, meta
from gstreamed.gst.build import link, make
from gstreamed.gst.bus import Playback, play_all
from gstreamed.gst.sources import PIXBUF_IMAGES, Source
from gstreamed.outfile import PendingFile
from gstreamed.outputs import IMAGE_ENCODERS, VIDEO_MUXERS, Outputs
from gstreamed.progress import Progress
from gstreamed.results import ResultWriter
from gstreamed.timing import Timings
from gstreamed.track import Tracker

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 10.0)  # back-off between attempts; then every 10 s
STALL_S = 5.0  # a live source that delivers no frame for this long counts as lost
# A file that decodes no frame for this long cannot be played: decodebin can swallow the
# demuxer's error about a damaged file (it filters errors while it plugs elements), and
# the pipeline would wait forever for its first frame.
FIRST_FRAME_S = 10.0
FRAMES_QUEUED = 2  # frames the `InputPipeline.frames` appsink holds for a slow consumer


@dataclass
class InputResult:
    """How one input's run went: frames processed, wall time, the outputs it left, and the
    error that ended it (None when it reached its end or was stopped by a signal)."""

    source: str
    frames: int
    seconds: float
    outputs: list[Path] = field(default_factory=list)
    error: str | None = None
    interrupted: bool = False
    timings: Timings = field(default_factory=Timings)  # the run's, shared by its inputs

    @property
    def ok(self) -> bool:
        """Whether the input was processed without error."""
        return self.error is None


class InputPipeline:
    """One pipeline run over one source, with the detector (and tracker) already loaded."""

    def __init__(
        self,
        source: Source,
        outputs: Outputs,
        timings: Timings,
        *,
        detector: Detector | None = None,
        model_instance: str = "",
        inference_interval: int = 1,
        make_tracker: Callable[[float | None], Tracker] | None = None,
        untracked_min_score: float = 0.0,
        writers: Sequence[ResultWriter] = (),
        frame_limit: int | None = None,
        progress: Progress | None = None,
        frames_sink: bool = False,
        media_file: Path | None = None,
        reconnect_timeout: float = 0.0,
        encoder_threads: int | None = None,
    ) -> None:
        """Detect with ``detector`` (private) or the shared model instance named
        ``model_instance`` (see `gstreamed.detect.batching`), every ``inference_interval``-th
        frame. ``make_tracker(frame_rate)`` builds the tracker once the stream's rate is
        known; ``None`` runs without tracking; untracked detections scoring below
        ``untracked_min_score`` are dropped. ``writers`` receive every frame's results
        (their owner closes them). ``frame_limit`` ends the input after that many decoded
        frames (as if it were that long). ``frames_sink`` adds `frames`, an appsink that
        receives every processed frame (raw RGB with its ROI metas) and holds at most
        `FRAMES_QUEUED` of them: a consumer slower than the pipeline slows it down.
        ``media_file`` is the file the annotated media is
        written to (a `gstreamed.outfile.PendingFile`'s temporary name; default
        ``outputs.media``). An RTSP source that is lost after its first frame is retried
        with back-off for up to ``reconnect_timeout`` seconds (0: never), into the same
        outputs; see `_lose`. ``encoder_threads``: the video encoder's threads (None: x264's
        choice)."""
        init()
        self.source, self.outputs, self.timings = source, outputs, timings
        self.detector, self.model_instance = detector, model_instance
        self.inference_interval = inference_interval
        self.make_tracker = make_tracker
        self.untracked_min_score = untracked_min_score
        self.writers = list(writers)
        self.frame_limit = frame_limit
        self.progress = progress or Progress()
        self.media_file = media_file or outputs.media
        self.write_error: str | None = None  # an output that could not be written
        self.reconnect_timeout = reconnect_timeout
        self.encoder_threads = encoder_threads
        self.reconnects = 0  # how often a lost source came back
        self._lost_at: float | None = None  # monotonic time the source was lost
        self._attempt = 0
        self._retry_at: float | None = None
        self._watch_from: float | None = None  # last frame, or start of a reconnect attempt
        self._started_at: float | None = None  # first watch of the playing pipeline
        self._reset_tracker = False
        self._stopping = False  # stopped by a signal, salvaging, or gave up: no more attempts
        self._source_ended = False  # a reconnectable source sent end-of-stream
        self._pts_origin: float | None = None  # running time - stream time at the first frame
        self._extra_sinks: list[Gst.Element] = []
        self.segments: list[Path] = []  # committed video segments, oldest first
        self._open_segments: dict[str, PendingFile] = {}  # by temporary name
        self._segment_lock = threading.Lock()
        self.pipeline = Gst.Pipeline.new("gstreamed")
        self.frames: Gst.Element | None = None
        if frames_sink:
            self.frames = make(
                "appsink",
                "frames",
                max_buffers=FRAMES_QUEUED,
                drop=False,
                sync=False,
                emit_signals=False,
            )
        self.video_caps: Gst.Caps | None = None  # the decoded video's caps, once known
        self._video_linked = False
        self._audio_linked = False
        self._mux: Gst.Element | None = None
        self._branches: list[Gst.Pad] = []  # sink pads fed by the decoder, for `salvage`
        self._frame = 0
        self._decoded = 0
        self._last_pts: float | None = None
        self._duration: float | None = None  # the input's, when its source knows it
        self._reached: float | None = None  # the latest stream time of any of its streams
        self._build()

    # --- building -------------------------------------------------------------------------

    def _add(self, *elements: Gst.Element) -> None:
        for element in elements:
            self.pipeline.add(element)

    def _build(self) -> None:
        decoder = self._source = self._source_elements()
        # Processing chain; the first queue decouples decoding from conversion + inference.
        # A live source does not wait for a slow model: its queue drops the oldest frames,
        # else they pile up upstream (the RTP jitter buffer) and memory and latency grow.
        self.entry = make(
            "queue", "decode_queue", max_size_buffers=4, max_size_time=0, max_size_bytes=0
        )
        if self._live():
            Gst.util_set_object_arg(self.entry, "leaky", "downstream")
        convert = make("videoconvert", "to_rgb")
        rgb = make("capsfilter", caps=Gst.Caps.from_string("video/x-raw,format=RGB"))
        infer_queue = make(
            "queue", "infer_queue", max_size_buffers=2, max_size_time=0, max_size_bytes=0
        )
        detect = make("gstreamed_detect", "detect", inference_interval=self.inference_interval)
        if self.model_instance:
            detect.set_property("model-instance-id", self.model_instance)
        else:
            detect.detector = self.detector
        detect.timings = self.timings
        self.entry.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, self._on_decoded)
        self.entry.get_static_pad("sink").add_probe(
            Gst.PadProbeType.EVENT_DOWNSTREAM, self._on_source_event
        )
        # Upright pictures: the image-orientation tag (a video's rotation matrix, a JPEG's
        # EXIF orientation) turns the frames, so boxes and outputs are upright.
        upright = make("videoflip", "upright")
        Gst.util_set_object_arg(upright, "video-direction", "auto")
        chain = [self.entry, upright, convert, rgb, infer_queue, detect]
        if self.make_tracker is not None:
            track = make("gstreamed_track", "track")
            track.make_tracker = self.make_tracker
            track.set_property("untracked-min-score", self.untracked_min_score)
            track.timings = self.timings
            track.get_static_pad("sink").add_probe(
                Gst.PadProbeType.BUFFER, self._on_track_input, track
            )
            chain.append(track)
        self._add(*chain)
        link(*chain)
        chain[-1].get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self._on_result)
        self._output_branches(chain[-1])
        self._connect_source(decoder)

    def _output_branches(self, tail: Gst.Element) -> None:
        """After detection (and tracking): the `frames` appsink, the overlay feeding the
        annotated file and the live window, or both (the appsink then sees unannotated
        frames: the overlay draws on its own copy)."""
        annotate = self.outputs.media is not None or self.outputs.live
        if self.frames is not None:
            self._add(self.frames)
            if not annotate:
                link(tail, self.frames)
                return
            tee = make("tee", "frames_split")
            frames_queue = make(
                "queue", "frames_queue", max_size_buffers=1, max_size_time=0, max_size_bytes=0
            )
            self._add(tee, frames_queue)
            link(tail, tee, frames_queue, self.frames)
            tail = tee
        overlay = make("gstreamed_overlay", "overlay")
        overlay.timings = self.timings
        self._add(overlay)
        link(tail, overlay)
        tail = overlay
        if self.outputs.live:
            tee = make("tee", "split")
            self._add(tee)
            link(overlay, tee)
            tail = tee
            self._display_branch(tee)
        self._media_branch(tail)

    def _connect_source(self, decoder: Gst.Element) -> None:
        decoder.connect("pad-added", self._on_pad_added)
        decoder.connect("no-more-pads", self._on_no_more_pads)

    def _live(self) -> bool:
        """A camera or an RTSP stream: frames come at their own pace, whether used or not."""
        return self.source.kind == "camera" or (
            self.source.kind == "uri"
            and Gst.Uri.get_protocol(self.source.location) in ("rtsp", "rtsps", "rtspt")
        )

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
        # decodebin plugs no parser before jpegdec: jpegparse reads the EXIF orientation.
        parse = [make("jpegparse")] if self.source.is_image and _is_jpeg(self.source) else []
        if self.source.kind == "file" and not os.path.isfile(self.source.location):
            # A FIFO or /dev/stdin: decodebin's typefinder would first try to pull from
            # filesrc, which closes and reopens the pipe on falling back to push mode — the
            # writer's data is lost and the reopen waits forever. A queue allows push only.
            parse.insert(0, make("queue", "pipe_queue"))
        self._add(src, *parse, decoder)
        link(src, *parse, decoder)
        return decoder

    def _media_branch(self, tail: Gst.Element) -> None:
        """Encoder + muxer + file sink (or JPEG for images); a fakesink when no file is wanted."""
        if self.outputs.media is None:
            elements = [make("queue", "out_queue"), make("fakesink", "sink", sync=False)]
        elif self.source.is_image:
            encoder = IMAGE_ENCODERS.get(self.outputs.media.suffix.lower(), "jpegenc")
            elements = [
                make("videoconvert", "out_convert"),
                make("jpegenc", quality=92) if encoder == "jpegenc" else make(encoder),
                self._file_sink(),
            ]
        else:
            convert, chroma = make("videoconvert", "out_convert"), make("capsfilter", "chroma")
            convert.get_static_pad("sink").add_probe(
                Gst.PadProbeType.EVENT_DOWNSTREAM, self._on_encoder_caps, chroma
            )
            muxer = VIDEO_MUXERS.get(self.outputs.media.suffix.lower(), "matroskamux")
            elements = [
                make(
                    "queue", "encode_queue", max_size_buffers=8, max_size_time=0, max_size_bytes=0
                ),
                convert,
                chroma,
                self._encoder(),
                make("h264parse"),
            ]
            if self.outputs.segment_time is not None:
                segmenter = self._segmenter(muxer)
                self._add(*elements, segmenter)
                link(tail, *elements)
                elements[-1].get_static_pad("src").link(segmenter.request_pad_simple("video"))
                return
            elements += [
                make(muxer, "mux"),
                self._file_sink(),
            ]
            self._mux = elements[-2]
        self._add(*elements)
        link(tail, *elements)

    def _segmenter(self, muxer: str) -> Gst.Element:
        """splitmuxsink: a new file about every ``segment_time`` seconds, cut on a keyframe
        (requested from the encoder), each written under a temporary name and committed
        when closed (`_on_message`)."""
        assert self.outputs.segment_time is not None
        segmenter = make(
            "splitmuxsink",
            "sink",
            max_size_time=int(self.outputs.segment_time * Gst.SECOND),
            send_keyframe_requests=True,
            muxer_factory=muxer,
        )
        segmenter.connect("format-location", self._on_format_location)
        self._mux = segmenter  # the audio track joins it
        return segmenter

    def _on_format_location(self, sink: Gst.Element, fragment: int) -> str:
        """The temporary name of the segment splitmuxsink opens next (streaming thread)."""
        try:
            pending = PendingFile(
                self.outputs.segment(fragment + 1), overwrite=self.outputs.overwrite
            )
        except GstreamedError as exc:
            self._fail(sink, str(exc))
            return os.devnull
        with self._segment_lock:
            self._open_segments[str(pending.path)] = pending
        return str(pending.path)

    def _segment_closed(self, location: str) -> None:
        """Commit a closed segment; past ``max_segments``, delete the oldest."""
        with self._segment_lock:
            pending = self._open_segments.pop(location, None)
        if pending is None:
            return
        try:
            self.segments.append(pending.commit())
        except GstreamedError as exc:
            self._fail(self.entry, str(exc))
            return
        keep = self.outputs.max_segments
        while keep is not None and len(self.segments) > keep:
            self.segments.pop(0).unlink(missing_ok=True)

    def finish_segments(self, finalised: bool) -> str | None:
        """After the run: commit the last segment when it was finalised, else leave it under
        its temporary name; returns a note saying where it is."""
        with self._segment_lock:
            left = list(self._open_segments.values())
            self._open_segments.clear()
        notes = []
        for pending in left:
            if finalised and pending.path.stat().st_size > 0:
                self._open_segments[str(pending.path)] = pending
                self._segment_closed(str(pending.path))
            elif pending.path.stat().st_size == 0:
                pending.discard()
            else:
                notes.append(
                    f"{pending.final} not finalised; what was written is in {pending.path}"
                )
        return "; ".join(notes) or None

    def _file_sink(self) -> Gst.Element:
        """The sink of the annotated file. Beside the `frames` appsink it must not wait for
        its first buffer before the pipeline plays: the encoder holds back several frames,
        while the appsink holds the first one until the pipeline plays."""
        return make("filesink", "sink", location=str(self.media_file), async_=self.frames is None)

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
        Gst.util_set_object_arg(encoder, "speed-preset", self.outputs.encoder.preset)
        Gst.util_set_object_arg(encoder, "pass", "quant")
        encoder.set_property("quantizer", self.outputs.encoder.quality)
        if self.encoder_threads:
            encoder.set_property("threads", self.encoder_threads)
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
            self._add_branch(pixbuf.get_static_pad("sink"))
            return
        if kind.startswith("video/") and not self._video_linked:
            self._video_linked = pad.link(self.entry.get_static_pad("sink")) == Gst.PadLinkReturn.OK
            self._add_branch(self.entry.get_static_pad("sink"))
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
        self._extra_sinks.append(sink)
        self.pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        self._add_branch(sink.get_static_pad("sink"))

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
        self._add_branch(chain[0].get_static_pad("sink"))
        return pad.link(chain[0].get_static_pad("sink")) == Gst.PadLinkReturn.OK

    def _add_branch(self, pad: Gst.Pad) -> None:
        """Note a pad the decoder feeds: for `_salvage`, and how far its stream got."""
        self._branches.append(pad)
        pad.add_probe(Gst.PadProbeType.BUFFER, self._on_branch_buffer)

    def _on_branch_buffer(self, pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        seconds = stream_seconds(pad, info.get_buffer().pts)
        if seconds is not None and (self._reached is None or seconds > self._reached):
            self._reached = seconds
        return Gst.PadProbeReturn.OK

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

    def _on_decoded(self, pad: Gst.Pad, _info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        """Note the video caps and a source that came back; past ``frame_limit`` frames, end
        the stream."""
        self._decoded += 1
        self._watch_from = time.monotonic()
        if self._lost_at is not None:
            log.warning(
                "%s: reconnected after %.1f s", self.source.label, self._watch_from - self._lost_at
            )
            self._lost_at, self._retry_at = None, None
            self._reset_tracker = True  # tracks do not go on across a gap
            self.reconnects += 1
            self.progress.status = ""
        if self._decoded == 1:
            self.video_caps = pad.get_current_caps()
        if self.frame_limit is None or self._decoded <= self.frame_limit:
            return Gst.PadProbeReturn.OK
        if self._decoded == self.frame_limit + 1:
            self._stopping = True
            pad.send_event(Gst.Event.new_eos())
        return Gst.PadProbeReturn.DROP

    def _on_source_event(self, _pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        """An RTSP source's own end-of-stream is a lost source (see `_watch`), not the end."""
        if info.get_event().type == Gst.EventType.EOS and self._reconnectable():
            self._source_ended = True
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    def _on_track_input(
        self, _pad: Gst.Pad, _info: Gst.PadProbeInfo, track: Gst.Element
    ) -> Gst.PadProbeReturn:
        """After a reconnect, start the tracker afresh (in the tracker's own thread)."""
        if self._reset_tracker:
            self._reset_tracker = False
            rate = None
            if self.video_caps is not None:
                ok, num, den = self.video_caps.get_structure(0).get_fraction("framerate")
                rate = num / den if ok and num > 0 else None
            old, track.tracker = track.tracker, track.make_tracker(rate)
            track.tracker.continue_numbering(old)  # ids go on across the gap
        return Gst.PadProbeReturn.OK

    def _on_result(self, pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        if self.write_error is not None:  # stopping: the outputs end where the results did
            return Gst.PadProbeReturn.DROP
        buffer = info.get_buffer()
        pts = None if self.source.is_image else stream_seconds(pad, buffer.pts)
        running = running_seconds(pad, buffer.pts)
        if self._pts_origin is None and pts is not None and running is not None:
            self._pts_origin = running - pts
        if self.reconnects and running is not None and self._pts_origin is not None:
            pts = running - self._pts_origin  # after a gap the new source's time restarts
        self._last_pts = pts
        if self.writers:
            detections = meta.read(buffer)
            try:
                for writer in self.writers:
                    writer.write(self._frame, pts, detections)
            except GstreamedError as exc:  # disk full: stop, finalise what was written
                self._fail(pad.get_parent_element(), str(exc))
                return Gst.PadProbeReturn.DROP
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

    def run(self) -> InputResult:
        """Play this input alone to its end (or a stop signal); see `result`."""
        started = time.perf_counter()
        playback = self.playback()
        stop = play_all([playback])
        return self.result(playback, stop is not None, time.perf_counter() - started)

    def playback(self) -> Playback:
        """This input's pipeline as played by `gstreamed.gst.bus.play_all`."""
        return Playback(
            self.pipeline,
            self.source.label,
            self._on_message,
            self._salvage,
            self._recover,
            self._watch,
            self._on_stop,
        )

    def _on_message(self, message: Gst.Message) -> None:
        if self.progress.total is None and message.type == Gst.MessageType.ASYNC_DONE:
            self.progress.total = self._expected_frames()
            ok, duration = self.pipeline.query_duration(Gst.Format.TIME)
            self._duration = duration / Gst.SECOND if ok and duration > 0 else None
        if message.type == Gst.MessageType.ELEMENT:
            structure = message.get_structure()
            if structure is not None and structure.get_name() == "splitmuxsink-fragment-closed":
                self._segment_closed(structure.get_string("location"))
        if (
            message.type == Gst.MessageType.ERROR
            and self.write_error is None
            and message.src is self.pipeline.get_by_name("sink")
        ):
            error, _debug = message.parse_error()
            reason = (
                "no space left on the device"
                if error.matches(Gst.ResourceError.quark(), Gst.ResourceError.NO_SPACE_LEFT)
                else error.message.strip().rstrip(".").replace(str(self.media_file), "")
            )
            self.write_error = f"{self.outputs.media}: cannot write it: {reason}"

    def _fail(self, element: Gst.Element, text: str) -> None:
        """Report an output that cannot be written: the run stops (see `Playback`)."""
        self.write_error = self.write_error or text
        error = GLib.Error.new_literal(Gst.ResourceError.quark(), text, Gst.ResourceError.WRITE)
        element.post_message(Gst.Message.new_error(element, error, text))

    # --- reconnecting (main thread) -------------------------------------------------------

    def _reconnectable(self) -> bool:
        """An RTSP source that delivered frames, with reconnecting on."""
        return (
            self.reconnect_timeout > 0
            and not self._stopping
            and self.source.kind == "uri"
            and self._live()
            and self._decoded > 0
        )

    def _recover(self, message: Gst.Message) -> bool:
        """An error from the source of a reconnectable input: drop the source and retry.
        Errors of a source already dropped (no longer in the pipeline) are ignored."""
        if not self._reconnectable():
            return False
        element: Gst.Object | None = message.src
        while element is not None and element is not self._source:
            if element.get_parent() is None:
                return element is not self.pipeline  # a dropped source's: stale
            element = element.get_parent()
        if element is None:
            return False
        self._lose(message.parse_error()[0].message.strip().rstrip("."))
        return True

    def _lose(self, reason: str) -> None:
        """The source is lost: remove it and schedule the next attempt. The outputs stay
        open; after the gap the same files go on (the gap shows in the timestamps)."""
        now = time.monotonic()
        if self._lost_at is None:
            self._lost_at, self._attempt = now, 0
            log.warning("%s: source lost (%s); reconnecting", self.source.label, reason)
        else:
            log.info("%s: attempt %d failed (%s)", self.source.label, self._attempt, reason)
        self._attempt += 1
        self._retry_at = now + RETRY_DELAYS_S[min(self._attempt, len(RETRY_DELAYS_S)) - 1]
        self.progress.status = f"reconnecting (attempt {self._attempt})"
        for pad in self._branches[1:]:  # audio: its track ends here
            pad.send_event(Gst.Event.new_eos())
        self._branches = self._branches[:1]
        self._audio_linked = self._audio_linked or self._mux is not None
        old, self._source = self._source, None
        for element in [old, *self._extra_sinks]:
            if element is not None:
                element.set_state(Gst.State.NULL)
                self.pipeline.remove(element)
        self._extra_sinks = []
        self._video_linked = False

    def _watch(self) -> None:
        """Start the next attempt when due, give up past the timeout, notice a stall (also
        a file that never decodes a frame)."""
        now = time.monotonic()
        self._started_at = self._started_at or now
        if (
            self._decoded == 0
            and not self._stopping
            and now - self._started_at > FIRST_FRAME_S
            and self.source.kind == "file"
            and os.path.isfile(self.source.location)  # a pipe may wait for its writer
        ):
            self._give_up(
                f"{self.source.label}: no frame decoded within {FIRST_FRAME_S:g} s "
                "(a damaged file, or a format GStreamer cannot play)"
            )
            return
        if self._retry_at is not None and now >= self._retry_at:
            assert self._lost_at is not None
            self._retry_at = None
            if now - self._lost_at > self.reconnect_timeout:
                self._give_up(
                    f"{self.source.label}: source lost; not back within "
                    f"{self.reconnect_timeout:g} s (--reconnect-timeout)"
                )
                return
            decoder = self._source = make("uridecodebin", "source", uri=self.source.location)
            self._connect_source(decoder)
            self.pipeline.add(decoder)
            decoder.set_base_time(self.pipeline.get_base_time())  # live timestamps run on
            decoder.sync_state_with_parent()
            self._watch_from = now
        elif self._lost_at is not None and self._source is not None:
            # uridecodebin added to a playing pipeline can settle in PAUSED: nudge it on.
            _, state, pending = self._source.get_state(0)
            if state == Gst.State.PAUSED and pending == Gst.State.VOID_PENDING:
                self._source.set_state(Gst.State.PLAYING)
        if self._source_ended and self._retry_at is None:
            self._source_ended = False
            self._lose("end of stream")
        elif (
            self._retry_at is None
            and self._watch_from is not None
            and now - self._watch_from > STALL_S
            and self._reconnectable()
        ):
            self._lose(f"no frame for {STALL_S:g} s")

    def _give_up(self, text: str) -> None:
        """End the input with the error ``text`` (posted as the source's)."""
        self._stopping = True
        error = GLib.Error.new_literal(Gst.ResourceError.quark(), text, Gst.ResourceError.READ)
        self.entry.post_message(Gst.Message.new_error(self.entry, error, text))

    def _on_stop(self) -> None:
        """A stop signal while reconnecting: no source passes end-of-stream on, so end the
        stream at the decoder's side."""
        self._stopping = True
        if self._lost_at is not None:
            self._retry_at = None
            self._salvage()

    def _salvage(self) -> bool:
        """After an error: push end-of-stream into every branch the decoder feeds, so what
        reached the muxer is finalised; False when no frame was processed (nothing to
        finalise). An error during start-up stops the pipeline on its way to PLAYING, its
        sinks waiting in PAUSED: they are set playing so they write."""
        self._stopping = True
        for pad in self._branches:
            pad.send_event(Gst.Event.new_eos())
        for sink in self.pipeline.iterate_sinks():
            sink.set_state(Gst.State.PLAYING)
        return self._frame > 0

    def _ended_early(self) -> bool:
        """Whether the stream stopped well before the duration its container states (a
        truncated file, a damaged middle the demuxer could not get past)."""
        if self._duration is None or self._reached is None:
            return False
        if self.frame_limit is not None and self._decoded > self.frame_limit:
            return False
        return self._reached < self._duration - max(1.0, 0.05 * self._duration)

    def where(self) -> str:
        """``at frame 41 (stream time 1.64 s)``: how far the input got."""
        time_text = f" (stream time {self._last_pts:.2f} s)" if self._last_pts is not None else ""
        return f"at frame {self._frame}{time_text}"

    def result(self, playback: Playback, interrupted: bool, seconds: float) -> InputResult:
        """The input's result once its playback has ended (its ``outputs`` left empty: the
        owner of the files commits them)."""
        if not playback.finished:
            interrupted = True
        if self._frame and not interrupted and playback.error is None:
            self.progress.total = self._frame  # the estimate follows the container's
            # duration, which an audio track may make longer: now exact
        error = self.write_error or playback.error
        if error is not None and self._frame == 0 and self.source.kind == "uri":
            error = _unreachable(self.source.location) or error
        if error is None and self._frame == 0 and not interrupted:
            error = f"{self.source.label}: no frames decoded"
        elif error is None and not interrupted and self._ended_early():
            error = (
                f"{self.source.label}: the video ended {self.where()}, short of its stated "
                f"{self._duration:.2f} s: a truncated or damaged file (the output holds the "
                "frames before)"
            )
        elif error is not None and self._frame:
            error = f"{error} ({self.where()}; the output holds the frames before)"
        self.progress.status = "failed" if error else "stopped" if interrupted else "done"
        return InputResult(self.source.label, self._frame, seconds, [], error, interrupted)


def stream_seconds(pad: Gst.Pad, pts: int) -> float | None:
    """A buffer timestamp as stream time in seconds: 0 at the first frame, as players show it.

    Demuxers may start the segment later than 0 (an MP4 edit list hiding B-frame delay puts
    the first PTS at e.g. 0.067 s); the pad's segment maps that back to stream time.
    """
    event = pad.get_sticky_event(Gst.EventType.SEGMENT, 0)
    return segment_seconds(event.parse_segment() if event is not None else None, pts)


def segment_seconds(segment: Gst.Segment | None, pts: int) -> float | None:
    """``pts`` as stream time in ``segment`` (see `stream_seconds`), in seconds."""
    if pts == Gst.CLOCK_TIME_NONE:
        return None
    if segment is not None:
        pts = segment.to_stream_time(Gst.Format.TIME, pts)
        if pts == Gst.CLOCK_TIME_NONE:  # outside the segment
            return None
    return pts / Gst.SECOND


def running_seconds(pad: Gst.Pad, pts: int) -> float | None:
    """A buffer timestamp as the pipeline's running time in seconds (None when unknown)."""
    event = pad.get_sticky_event(Gst.EventType.SEGMENT, 0)
    if pts == Gst.CLOCK_TIME_NONE or event is None:
        return None
    running = event.parse_segment().to_running_time(Gst.Format.TIME, pts)
    return None if running == Gst.CLOCK_TIME_NONE else running / Gst.SECOND


def _unreachable(uri: str) -> str | None:
    """``URI: cannot connect to HOST:PORT (Connection refused)`` when a network URI's server
    does not accept connections (GStreamer's sources only say "Internal data stream error")."""
    protocol = Gst.Uri.get_protocol(uri)
    default_port = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322, "rtspt": 554}
    if protocol not in default_port:
        return None
    parsed = Gst.Uri.from_string(uri)
    host = parsed.get_host() if parsed else None
    if not host:
        return None
    port = parsed.get_port()
    port = default_port[protocol] if port == Gst.URI_NO_PORT else port
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as err:
        return f"{uri}: cannot connect to {host}:{port} ({err.strerror or err})"
    return None


def _is_jpeg(source: Source) -> bool:
    """Whether an image input is a JPEG (by its first bytes: names can lie)."""
    try:
        with open(source.location, "rb") as file:
            return file.read(3) == b"\xff\xd8\xff"
    except OSError:
        return False
