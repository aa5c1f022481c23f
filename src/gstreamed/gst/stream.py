"""Processed frames as a Python iterator: `frames` plays a `Runner`'s pipelines, each with an
appsink after detection and tracking, and yields every frame as the caller asks for it.

The appsinks hold at most `gstreamed.gst.run.FRAMES_QUEUED` frames and never drop one: a
slow consumer slows the pipelines (memory stays bounded), a fast one waits for them. Closing
the iterator (a ``break``, an exception in the loop, ``close()``) stops the pipelines;
annotated files being written get end-of-stream first, so they are finalised and playable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import gi
import numpy as np

from gstreamed.detect.detections import Detections
from gstreamed.errors import GstreamedError
from gstreamed.gst import Gst, meta
from gstreamed.gst.bus import EOS_GRACE_S, POLL_S, Playback
from gstreamed.gst.run import InputPipeline, segment_seconds
from gstreamed.gst.runner import Runner

gi.require_version("GstApp", "1.0")
from gi.repository import GstApp, GstVideo  # noqa: E402, F401  # GstApp: appsink's methods


@dataclass
class Frame:
    """One processed frame.

    ``image``: the decoded picture, HxWx3 uint8 RGB, unannotated (a copy: keep it as long
    as you like); ``index``: its number in its source, from 0; ``pts``: its stream time in
    seconds (None for images); ``source``: the input as given; ``detections``: its
    (tracked) detections, boxes in ``image`` pixels.
    """

    image: np.ndarray
    index: int
    pts: float | None
    source: str
    detections: Detections


def frames(runner: Runner) -> Iterator[Frame]:
    """Every processed frame of ``runner``'s inputs, in the order they are ready (the frames
    of one input in order). Inputs that failed raise `GstreamedError` once the others have
    ended."""
    with runner.prepared(frames_sink=True) as (_shared, pipelines, results):
        playbacks = {index: pipeline.playback() for index, pipeline in pipelines.items()}
        printer = runner.progress_printer(pipelines)
        counts = dict.fromkeys(pipelines, 0)
        started = time.perf_counter()
        completed = False
        try:
            for playback in playbacks.values():
                playback.start()
            while active := [i for i, p in playbacks.items() if not p.finished]:
                wait = int(POLL_S / len(active) * Gst.SECOND)
                for index in active:
                    pipeline = pipelines[index]
                    assert pipeline.frames is not None
                    sample = pipeline.frames.try_pull_sample(wait)
                    if sample is not None:
                        yield _frame(sample, counts[index], pipeline)
                        counts[index] += 1
                    playbacks[index]._poll()
                printer.tick()
            completed = True
        finally:
            for index, pipeline in pipelines.items():
                _stop(pipeline, playbacks[index])
                results[index] = pipeline.result(
                    playbacks[index], not completed, time.perf_counter() - started
                )
            runner.finish(pipelines, playbacks, results)
            printer.finish()
    errors = [r.error for r in results if r is not None and r.error is not None]
    if errors:
        raise GstreamedError("; ".join(errors))


def _stop(pipeline: InputPipeline, playback: Playback) -> None:
    """Stop a pipeline the consumer left: at once, or after end-of-stream when it writes an
    annotated file (the frames already decoded still reach the file; the appsink's are
    pulled and dropped meanwhile)."""
    if playback.finished:
        return
    if pipeline.outputs.media is not None:
        playback._stop(EOS_GRACE_S)
        pipeline._salvage()  # end-of-stream at the decoder too: no more frames decoded
        assert pipeline.frames is not None
        while not playback.finished:
            pipeline.frames.try_pull_sample(int(POLL_S * Gst.SECOND))
            playback._poll()
    playback._finish()


def _frame(sample: Gst.Sample, index: int, pipeline: InputPipeline) -> Frame:
    """A `Frame` from an appsink sample: the picture copied out, the metas read back."""
    buffer = sample.get_buffer()
    info = GstVideo.VideoInfo.new_from_caps(sample.get_caps())
    with buffer.map(Gst.MapFlags.READ) as mapped:
        rows = np.ndarray(
            (info.height, info.width, 3), np.uint8, mapped.data, strides=(info.stride[0], 3, 1)
        )
        image = rows.copy()
    source = pipeline.source
    pts = None if source.is_image else segment_seconds(sample.get_segment(), buffer.pts)
    detections = meta.read(buffer, (info.width, info.height))
    return Frame(image, index, pts, source.label, detections)
