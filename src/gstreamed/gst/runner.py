"""A run over many inputs in one process: one pipeline per input, one shared, batched model.

`Runner` loads nothing itself: it takes a loaded `Detector`, shares it between the inputs
as a named model instance (`gstreamed.detect.batching`, the mechanism ``gstreamed_detect``
elements use with ``model-instance-id``), gives each input its own pipeline, tracker and
outputs, plays them all (`gstreamed.gst.bus.play_all`) and reports per input. A failing input
is reported and does not stop the others.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gstreamed.cores import share_of_cores
from gstreamed.detect.batching import BatchParams, SharedDetector, acquire, release
from gstreamed.detect.detector import Detector
from gstreamed.errors import GstreamedError
from gstreamed.gst.bus import Playback, exit_status, play_all
from gstreamed.gst.run import InputPipeline, InputResult
from gstreamed.gst.sources import classify
from gstreamed.inputs import Source, expand
from gstreamed.outfile import PendingFile
from gstreamed.outputs import EncoderParams, Outputs, check_outputs, is_special, plan_outputs
from gstreamed.progress import Progress, ProgressPrinter
from gstreamed.results import JsonlWriter, ResultWriter
from gstreamed.timing import Timings
from gstreamed.track import Tracker
from gstreamed.track.mot import MotWriter

_RUN_IDS = itertools.count(1)


@dataclass
class RunSummary:
    """What a run did: one `InputResult` per input, the shared timings and batch sizes."""

    results: list[InputResult]
    timings: Timings
    batch_sizes: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    stop_signal: int | None = None

    @property
    def frames(self) -> int:
        """Frames processed over all inputs."""
        return sum(r.frames for r in self.results)

    @property
    def exit_status(self) -> int:
        """128 + the stop signal; 1 when an input failed; else 0."""
        if self.stop_signal is not None:
            return exit_status(self.stop_signal)
        return 0 if all(r.ok for r in self.results) else 1


@dataclass
class Input:
    """One input of a run: its source and outputs, or the error that rules it out."""

    source: Source | None
    outputs: Outputs | None
    label: str
    error: str | None = None


def make_inputs(
    labels: Sequence[str],
    media: Path | None = None,
    *,
    no_media: bool = False,
    json: Path | None = None,
    mot: Path | None = None,
    live: bool = False,
    audio: bool = True,
    encoder: EncoderParams | None = None,
    force: bool = False,
    segment_time: float | None = None,
    max_segments: int | None = None,
) -> list[Input]:
    """The inputs ``labels`` name (see `gstreamed.inputs.expand`), each with its outputs
    (`gstreamed.outputs.plan_outputs`), checked before anything runs.

    With one input a bad one raises `GstreamedError`; with several it is only marked, so
    the others still run. Output folders of several inputs are made when missing.
    ``segment_time`` cuts each video output into segments (see `Outputs.segment`).
    """
    labels = expand(list(labels))
    several = len(labels) > 1
    inputs = []
    for label in labels:
        try:
            inputs.append(Input(classify(label), None, label))
        except GstreamedError as exc:
            if not several:
                raise
            inputs.append(Input(None, None, label, str(exc)))
    if several:
        for folder in (None if no_media else media, mot):
            _make_folder(folder)
    sources = [item.source for item in inputs if item.source is not None]
    planned = plan_outputs(
        sources,
        None if no_media else media,
        no_media=no_media,
        json=json,
        mot=mot,
        live=live,
        audio=audio,
        encoder=encoder,
        force=force,
    )
    for outputs, source in zip(planned, sources, strict=True):
        if segment_time is not None and not source.is_image and outputs.media is not None:
            outputs.segment_time, outputs.max_segments = segment_time, max_segments
    check_outputs(planned, sources, force)
    by_source = dict(zip(sources, planned, strict=True))
    for item in inputs:
        item.outputs = by_source.get(item.source) if item.source is not None else None
    return inputs


def _make_folder(folder: Path | None) -> None:
    """Create an output folder (not its parents) for a run of several inputs."""
    if folder is None:
        return
    if folder.exists() and not folder.is_dir():
        raise GstreamedError(f"{folder} is a file; with several inputs give a folder")
    if not folder.parent.is_dir():
        raise GstreamedError(f"output directory does not exist: {folder.parent}")
    folder.mkdir(exist_ok=True)


class Runner:
    """Runs ``inputs`` concurrently with one shared ``detector`` (see the module doc)."""

    def __init__(
        self,
        inputs: Sequence[Input],
        detector: Detector,
        *,
        batching: BatchParams | None = None,
        make_tracker: Callable[[float | None], Tracker] | None = None,
        progress: bool = True,
        frame_limit: int | None = None,
        on_tick: Callable[[list[Progress]], bool | None] | None = None,
        json_sources: bool | None = None,
        reconnect_timeout: float = 0.0,
    ) -> None:
        """``on_tick(progress)`` sees each input's `Progress` about every 50 ms; returning
        True stops the run as SIGINT would. ``json_sources``: whether JSON objects carry
        their ``source`` (default: with several inputs). ``reconnect_timeout``: how long a
        lost live source is retried (see `InputPipeline`); 0 never."""
        self.inputs = list(inputs)
        self.detector = detector
        self.batching = batching or BatchParams()
        self.make_tracker = make_tracker
        self.show_progress = progress
        self.frame_limit = frame_limit
        self.on_tick = on_tick
        self.json_sources = len(self.inputs) > 1 if json_sources is None else json_sources
        self.reconnect_timeout = reconnect_timeout
        self.timings = Timings()

    @property
    def streams(self) -> int:
        """The inputs that will play (those not ruled out already)."""
        return sum(item.error is None for item in self.inputs)

    def run(self) -> RunSummary:
        """Play every input to its end (or a stop signal); see `RunSummary`."""
        with self.prepared() as (shared, pipelines, results):
            started = time.perf_counter()
            printer = self.progress_printer(pipelines)
            playbacks = {index: p.playback() for index, p in pipelines.items()}
            progress = [p.progress for p in pipelines.values()]

            def tick() -> bool | None:
                printer.tick()
                return self.on_tick(progress) if self.on_tick is not None else None

            stop = play_all(list(playbacks.values()), tick) if playbacks else None
            for index, pipeline in pipelines.items():
                playback = playbacks[index]
                seconds = (playback.ended_at or time.perf_counter()) - started
                results[index] = pipeline.result(playback, stop is not None, seconds)
            self.finish(pipelines, playbacks, results)
            printer.finish()
        for result in results:
            if result is not None:
                result.timings = self.timings
        assert all(r is not None for r in results)
        return RunSummary(
            [r for r in results if r is not None],
            self.timings,
            shared.batch_sizes,
            time.perf_counter() - started,
            stop,
        )

    def progress_printer(self, pipelines: dict[int, InputPipeline]) -> ProgressPrinter:
        """The progress lines of ``pipelines`` (shown when asked for and a video is among
        them)."""
        return ProgressPrinter(
            [(p.source.label, p.progress) for p in pipelines.values()],
            enabled=self.show_progress and any(not p.source.is_image for p in pipelines.values()),
        )

    @contextmanager
    def prepared(
        self, frames_sink: bool = False
    ) -> Iterator[tuple[SharedDetector, dict[int, InputPipeline], list[InputResult | None]]]:
        """The shared model, a pipeline per usable input (by input index; see
        `InputPipeline` for ``frames_sink``) and the results list, holding the errors of
        the inputs that got no pipeline. The caller plays the pipelines, fills in their
        results and calls `finish`; on exit the result files are closed, temporary files
        not committed removed and the model released."""
        instance = f"gstreamed-run-{next(_RUN_IDS)}"
        self.detector.timings = self.timings
        shared = acquire(
            instance,
            lambda: SharedDetector.from_params(self.detector, self.batching, self.streams),
        )
        self._files = OutputFiles()
        self._writers: list[ResultWriter] = []
        params = self.detector.params
        try:
            writers = self._open_writers(self._files)
            lowered = self._lower_threshold()
            yield (shared, *self._build(instance, writers, lowered, frames_sink, self._files))
        finally:
            self.detector.params = params
            self._close_writers()
            self._files.discard()
            release(instance)

    def finish(
        self,
        pipelines: dict[int, InputPipeline],
        playbacks: dict[int, Playback],
        results: list[InputResult | None],
    ) -> None:
        """After playing: close the result files and commit every finalised output."""
        self._close_writers()
        self._finalise(self._files, pipelines, playbacks, results)

    def _close_writers(self) -> None:
        for writer in self._writers:
            writer.close()

    def _finalise(
        self,
        files: OutputFiles,
        pipelines: dict[int, InputPipeline],
        playbacks: dict[int, Playback],
        results: list[InputResult | None],
    ) -> None:
        """Commit each output that holds frames; a media file its muxer did not finalise
        stays under its temporary name, and the input's error says where."""
        json_users: dict[Path, list[InputResult]] = {}
        for item, result in zip(self.inputs, results, strict=True):
            if result is not None and item.outputs is not None and item.outputs.json:
                json_users.setdefault(item.outputs.json, []).append(result)
        for json, users in json_users.items():
            if any(r.frames for r in users):
                try:
                    files.commit(json)
                except GstreamedError as exc:
                    for result in users:
                        result.error = result.error or str(exc)
        for index, pipeline in pipelines.items():
            result, outputs = results[index], pipeline.outputs
            assert result is not None
            media = outputs.media if result.frames else None
            if outputs.segment_time is not None:  # the pipeline commits its segments
                media = None
                note = pipeline.finish_segments(playbacks[index].finalised)
                if note:
                    result.error = f"{result.error}; {note}" if result.error else note
            if media is not None and not playbacks[index].finalised:
                left = files.abandon(media)
                note = f"{media} not finalised; what was written is in {left}"
                result.error = f"{result.error}; {note}" if result.error else note
                media = None
            for path in (media, outputs.mot if result.frames else None):
                if path is None:
                    continue
                try:
                    files.commit(path)
                except GstreamedError as exc:
                    result.error = result.error or str(exc)
            result.outputs = [*pipeline.segments, *(p for p in outputs.files if files.committed(p))]

    def _open_writers(self, files: OutputFiles) -> list[list[ResultWriter]]:
        """Each input's result writers (one JSON Lines file may serve several inputs); all
        of them, to close, in ``_writers``."""
        shared_json: dict[Path, JsonlWriter] = {}
        writers: list[list[ResultWriter]] = []
        for item in self.inputs:
            own: list[ResultWriter] = []
            outputs = item.outputs
            if item.error is None and outputs is not None:
                if outputs.json is not None:
                    if outputs.json not in shared_json:
                        shared_json[outputs.json] = JsonlWriter(
                            outputs.json, files.open(outputs.json, outputs)
                        )
                    json = shared_json[outputs.json]
                    own.append(json.for_source(item.label) if self.json_sources else json)
                if outputs.mot is not None and item.source is not None and not item.source.is_image:
                    own.append(MotWriter(outputs.mot, files.open(outputs.mot, outputs)))
            writers.append(own)
        self._writers = [*itertools.chain.from_iterable(writers), *shared_json.values()]
        return writers

    def _lower_threshold(self) -> float:
        """When every input is a tracked video and the tracker uses detections scoring
        below the detector's threshold (ByteTrack's low-score pass), the detector detects
        down to the tracker's `Tracker.min_score` for this run; returns the threshold the
        untracked detections must still reach (0: nothing to drop)."""
        if self.make_tracker is None or any(
            item.source is not None and item.source.is_image for item in self.inputs
        ):
            return 0.0
        wanted, conf = self.make_tracker(None).min_score, self.detector.params.conf
        if wanted is None or wanted >= conf:
            return 0.0
        self.detector.params = dataclasses.replace(self.detector.params, conf=wanted)
        return conf

    def _build(
        self,
        instance: str,
        writers: list[list[ResultWriter]],
        untracked_min_score: float,
        frames_sink: bool,
        files: OutputFiles,
    ) -> tuple[dict[int, InputPipeline], list[InputResult | None]]:
        """A pipeline per usable input; the others' results are their errors."""
        # Several streams encode at once: each encoder gets its share of the cores (x264's
        # own choice, 1.5 threads a core each, held 60 MB more for 4 streams on 2 cores and
        # was no faster).
        encoder_threads = share_of_cores(self.streams)
        pipelines: dict[int, InputPipeline] = {}
        results: list[InputResult | None] = []
        for index, item in enumerate(self.inputs):
            results.append(None)
            if item.error is not None or item.source is None or item.outputs is None:
                results[index] = InputResult(item.label, 0, 0.0, error=item.error)
                continue
            try:
                pipelines[index] = InputPipeline(
                    item.source,
                    item.outputs,
                    self.timings,
                    model_instance=instance,
                    inference_interval=self.batching.inference_interval,
                    make_tracker=None if item.source.is_image else self.make_tracker,
                    untracked_min_score=untracked_min_score,
                    writers=writers[index],
                    frame_limit=self.frame_limit,
                    frames_sink=frames_sink,
                    reconnect_timeout=self.reconnect_timeout,
                    encoder_threads=encoder_threads,
                    media_file=None
                    if item.outputs.media is None or item.outputs.segment_time is not None
                    else files.open(item.outputs.media, item.outputs),
                )
            except GstreamedError as exc:
                results[index] = InputResult(item.label, 0, 0.0, error=str(exc))
        return pipelines, results


class OutputFiles:
    """A run's output files, each written under a temporary name (`PendingFile`) and moved
    to its name only when committed; devices, FIFOs and ``-`` are written in place."""

    def __init__(self) -> None:
        self._pending: dict[Path, PendingFile] = {}
        self._committed: set[Path] = set()

    def open(self, final: Path, outputs: Outputs) -> Path:
        """The path to write ``final``, one of ``outputs``, to (made once per file)."""
        if is_special(final) or outputs.staged:
            return final
        if final not in self._pending:
            self._pending[final] = PendingFile(final, overwrite=outputs.overwrite)
        return self._pending[final].path

    def commit(self, final: Path) -> None:
        """Move ``final``'s file into place (`GstreamedError` when it cannot be)."""
        pending = self._pending.get(final)
        if pending is not None:
            pending.commit()
        self._committed.add(final)

    def committed(self, final: Path) -> bool:
        """Whether ``final`` was committed (and so holds a complete file)."""
        return final in self._committed

    def abandon(self, final: Path) -> Path:
        """Leave ``final``'s file unfinalised under its temporary name; returns that name."""
        pending = self._pending.pop(final, None)
        return final if pending is None else pending.path

    def discard(self) -> None:
        """Remove every temporary file not committed or abandoned."""
        for pending in self._pending.values():
            pending.discard()
