"""Runs over a Ray cluster: the inputs of one run spread over worker processes.

`run_on_cluster` starts an embedded local cluster (``"local"``) or connects to a running one
(``"auto"``, ``"ray://HOST:PORT"``; a process already connected with ``ray.init`` keeps its
connection), submits one task per ``streams_per_worker`` inputs (at most ``workers`` at a
time, each holding ``worker_cpus`` CPUs and ``worker_gpus`` GPUs) and gathers a `RunSummary`
like `Runner.run`'s. Each task plays its inputs with `Runner` in a worker process, which
loads the model once; several inputs of a task share it in batches, as in one process.

Outputs are written under temporary names (`gstreamed.outfile.PendingFile`) made by the
driver and renamed by it once the input is finalised: a task whose worker process dies is
retried (up to ``worker_retries`` times) and writes them again, and nothing half-written appears
under a final name. The JSON Lines file of the run is assembled from per-input parts at the
end. Paths must mean the same on every node (shared storage). An input that fails for its own
reasons (a corrupt file) fails once and does not stop the others. SIGINT, SIGTERM or SIGHUP
stops submitting, asks the running tasks to finalise their outputs and shuts down a local
cluster; a second signal stops at once and discards what was running.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gstreamed.cluster import ClusterParams, connect
from gstreamed.detect.batching import BatchParams
from gstreamed.detect.detector import Detector
from gstreamed.errors import GstreamedError
from gstreamed.gst.bus import EOS_GRACE_S, StopSignals
from gstreamed.gst.run import InputResult
from gstreamed.gst.runner import Input, Runner, RunSummary
from gstreamed.outfile import PendingFile
from gstreamed.progress import Progress, ProgressPrinter, format_eta
from gstreamed.timing import Timings
from gstreamed.track import Tracker

if TYPE_CHECKING:
    from types import ModuleType

REPORT_TIMEOUT_S = 5.0  # how long a worker waits for the board's answer to a report
REPORT_EVERY_S = 1.0  # how often a worker reports its frames (and learns of a stop)
WAIT_S = 0.25  # the driver's longest wait for a task before it checks signals and progress


@dataclass
class ClusterSummary(RunSummary):
    """A `RunSummary` of a run on a cluster, with the seconds taken to start or join it."""

    startup_seconds: float = 0.0
    nodes: int = 0


class Board:
    """The run's progress board (a Ray actor): frames per input, and the stop request."""

    def __init__(self) -> None:
        self.frames: dict[int, tuple[int, int | None]] = {}
        self.stopping = False

    def report(self, frames: dict[int, tuple[int, int | None]]) -> bool:
        """Record inputs' frames (and expected totals) by index; returns whether to stop."""
        self.frames.update(frames)
        return self.stopping

    def stop(self) -> None:
        self.stopping = True

    def snapshot(self) -> dict[int, tuple[int, int | None]]:
        return dict(self.frames)


@dataclass
class TaskOutcome:
    """What a task sends back: its inputs' results, timings and forward-pass batch sizes."""

    results: list[InputResult]
    timings: Timings
    batch_sizes: Counter[int]


_DETECTORS: dict[str, Detector] = {}  # the model of the current run, per worker process


def play_inputs(
    indices: list[int],
    items: list[Input],
    run_key: str,
    load: Callable[[], Detector],
    batching: BatchParams,
    make_tracker: Callable[[float | None], Tracker] | None,
    json_sources: bool,
    board: Any,
) -> TaskOutcome:
    """The task: play ``items`` (the run's inputs ``indices``) with `Runner` in this worker,
    reporting to ``board``."""
    import ray

    try:
        if run_key not in _DETECTORS:
            _DETECTORS.clear()
            _DETECTORS[run_key] = load()
        detector = _DETECTORS[run_key]
    except GstreamedError as exc:
        failed = [InputResult(item.label, 0, 0.0, error=str(exc)) for item in items]
        return TaskOutcome(failed, Timings(), Counter())
    last = 0.0

    def report(progress: list[Progress]) -> bool:
        nonlocal last
        now = time.perf_counter()
        if now - last < REPORT_EVERY_S or not progress:
            return False
        last = now
        frames = {i: (p.frames, p.total) for i, p in zip(indices, progress, strict=True)}
        reply = board.report.remote(frames)
        try:  # a busy or lost progress board must never hold up the pipeline
            return bool(ray.get(reply, timeout=REPORT_TIMEOUT_S))
        except ray.exceptions.GetTimeoutError:
            return False

    runner = Runner(
        items,
        detector,
        batching=batching,
        make_tracker=make_tracker,
        progress=False,
        on_tick=report,
        json_sources=json_sources,
    )
    summary = runner.run()
    board.report.remote(
        {i: (r.frames, r.frames) for i, r in zip(indices, summary.results, strict=True)}
    )
    return TaskOutcome(summary.results, summary.timings, summary.batch_sizes)


@dataclass
class _Staged:
    """An input whose outputs go to temporary names, and the files to rename them to."""

    index: int
    item: Input
    pending: dict[Path, PendingFile]  # temporary path → its pending file (media, MOT)
    json_part: PendingFile | None


def _stage(index: int, item: Input, force: bool) -> _Staged:
    """Temporary names for the input's media and MOT files and its part of the JSON file."""
    assert item.outputs is not None
    outputs = item.outputs
    pending: dict[Path, PendingFile] = {}

    def temporary(final: Path | None) -> Path | None:
        if final is None or (final.exists() and not final.is_file()):  # /dev/null: as is
            return final
        file = PendingFile(final, overwrite=force)
        pending[file.path] = file
        return file.path

    json_part = None
    try:
        json_part = PendingFile(outputs.json) if outputs.json is not None else None
        staged_outputs = dataclasses.replace(
            outputs,
            media=temporary(outputs.media),
            mot=temporary(outputs.mot),
            json=json_part.path if json_part is not None else None,
            staged=True,  # the worker writes these temporary files in place
        )
    except GstreamedError:
        for file in [*pending.values(), json_part]:
            if file is not None:
                file.discard()
        raise
    return _Staged(index, dataclasses.replace(item, outputs=staged_outputs), pending, json_part)


def _finish(staged: _Staged, result: InputResult, final_json: Path | None) -> InputResult:
    """Rename the outputs the input left to their final names; discard the rest."""
    if result.interrupted and result.frames == 0:
        result.outputs = []
    written: list[Path] = []
    for path, file in staged.pending.items():
        if path in result.outputs:
            try:
                written.append(file.commit())
            except GstreamedError as exc:
                result.error = result.error or str(exc)
        else:
            file.discard()
    for path in result.outputs:
        if staged.json_part is not None and path == staged.json_part.path:
            written.append(final_json or path)
        elif path not in staged.pending:
            written.append(path)
    result.outputs = written
    return result


def _failure(item: Input, exc: BaseException, retries: int) -> InputResult:
    """The result of a task that ended in an exception (not the input's own error)."""
    from ray import exceptions

    if isinstance(exc, exceptions.TaskCancelledError):
        return InputResult(item.label, 0, 0.0, interrupted=True)
    if isinstance(exc, exceptions.WorkerCrashedError):
        reason = f"its worker process died {retries + 1} time(s); giving up"
    elif isinstance(exc, exceptions.RayTaskError):
        cause = exc.cause if exc.cause is not None else exc
        text = str(cause).strip().splitlines()
        reason = f"the worker failed: {type(cause).__name__}: {text[0] if text else ''}"
    else:
        text = str(exc).strip().splitlines()
        reason = f"the cluster failed: {type(exc).__name__}: {text[0] if text else ''}"
    return InputResult(item.label, 0, 0.0, error=f"{item.label}: {reason}")


class _TotalLine(ProgressPrinter):
    """One line for the whole cluster: inputs done, frames/s across workers, ETA."""

    def __init__(self, count: int, enabled: bool) -> None:
        self.all = Progress()
        super().__init__([("total", self.all)], enabled=enabled)
        self.count = count
        self.done = 0
        self.began = time.perf_counter()

    def update(self, frames: dict[int, tuple[int, int | None]], done: int) -> None:
        """Take the workers' latest reports and the number of inputs that ended."""
        self.done = done
        total = sum(f for f, _ in frames.values())
        if total and self.all.started is None:
            self.all.started = time.perf_counter()
        self.all.frames = total
        known = [t for _, t in frames.values() if t]
        # Inputs not started yet (or of unknown length) count as long as the average known one.
        unknown = self.count - len(known)
        self.all.total = round(sum(known) * (1 + unknown / len(known))) if known else None

    def due(self) -> bool:
        """Whether `tick` would print now (so the board is asked only then)."""
        return self.enabled and time.perf_counter() - self._last >= self.every

    def lines(self) -> list[str]:
        p = self.all
        elapsed = time.perf_counter() - self.began
        fps = p.frames / elapsed if elapsed > 0 else 0.0
        line = f"inputs {self.done}/{self.count} ended  frames {p.frames}  {fps:5.1f} fps"
        if p.total and fps > 0 and self.done < self.count:
            line += f"  ETA {format_eta(max(0, p.total - p.frames) / fps)}"
        return [line]


def run_on_cluster(
    inputs: Sequence[Input],
    load: Callable[[], Detector],
    *,
    address: str = "local",
    params: ClusterParams | None = None,
    batching: BatchParams | None = None,
    make_tracker: Callable[[float | None], Tracker] | None = None,
    progress: bool = True,
    force: bool = False,
) -> ClusterSummary:
    """Run ``inputs`` on the Ray cluster at ``address`` (see the module doc); ``load()`` makes
    the detector in each worker process. ``force`` lets finished outputs replace files."""
    params = params or ClusterParams()
    batching = batching or BatchParams()
    items = list(inputs)
    results: list[InputResult | None] = [None] * len(items)
    staged: list[_Staged] = []
    json_final = next((i.outputs.json for i in items if i.outputs and i.outputs.json), None)
    started = time.perf_counter()
    try:
        for index, item in enumerate(items):
            if item.error is not None or item.source is None or item.outputs is None:
                results[index] = InputResult(item.label, 0, 0.0, error=item.error)
            else:
                staged.append(_stage(index, item, force))
        with connect(address, params) as ray:
            startup = time.perf_counter() - started
            nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
            summary = _drive(
                ray, staged, results, load, params, batching, make_tracker, progress, json_final
            )
        if json_final is not None:
            _assemble_json(json_final, staged, summary.results, force)
    finally:
        for stage in staged:  # whatever was not renamed: a failure, an interruption, parts
            for file in [*stage.pending.values(), stage.json_part]:
                if file is not None:
                    file.discard()
    summary.startup_seconds, summary.nodes = startup, nodes
    return summary


def _drive(
    ray: ModuleType,
    staged: list[_Staged],
    results: list[InputResult | None],
    load: Callable[[], Detector],
    params: ClusterParams,
    batching: BatchParams,
    make_tracker: Callable[[float | None], Tracker] | None,
    progress: bool,
    json_final: Path | None,
) -> ClusterSummary:
    """Submit the staged inputs, at most ``params.workers`` at a time, and gather them."""
    began = time.perf_counter()
    board = ray.remote(num_cpus=0)(Board).remote()
    task = ray.remote(play_inputs).options(
        num_cpus=params.worker_cpus,
        num_gpus=params.worker_gpus,
        max_retries=params.worker_retries,
        retry_exceptions=False,
    )
    run_key = f"{os.getpid()}-{time.time_ns()}"
    json_sources = len(results) > 1
    waiting = list(staged)
    running: dict[Any, list[_Staged]] = {}
    timings, batch_sizes = Timings(), Counter[int]()
    printer = _TotalLine(len(staged), progress)
    stop: int | None = None
    stops = StopSignals()
    deadline = math.inf  # after a stop signal: when running tasks are cancelled
    with stops.installed():
        while waiting or running:
            if stops.received and stop is None:
                stop = stops.received[0]
                del stops.received[1:]
                waiting.clear()
                board.stop.remote()
                deadline = time.perf_counter() + EOS_GRACE_S + REPORT_EVERY_S
            if len(stops.received) > 1 or time.perf_counter() > deadline:
                for ref in running:
                    ray.cancel(ref, force=True)
                deadline = math.inf
                del stops.received[1:]
            while waiting and len(running) < params.workers:
                stages = waiting[: params.streams_per_worker]
                del waiting[: params.streams_per_worker]
                ref = task.remote(
                    [stage.index for stage in stages],
                    [stage.item for stage in stages],
                    run_key,
                    load,
                    batching,
                    make_tracker,
                    json_sources,
                    board,
                )
                running[ref] = stages
            done, _ = ray.wait(list(running), num_returns=1, timeout=WAIT_S)
            if done:  # and every other one that is ready too
                done, _ = ray.wait(list(running), num_returns=len(running), timeout=0)
            for ref in done:
                stages = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:
                    for stage in stages:
                        results[stage.index] = (
                            InputResult(stage.item.label, 0, 0.0, interrupted=True)
                            if stop is not None
                            else _failure(stage.item, exc, params.worker_retries)
                        )
                    continue
                timings.merge(outcome.timings)
                batch_sizes.update(outcome.batch_sizes)
                for stage, result in zip(stages, outcome.results, strict=True):
                    results[stage.index] = result
            if printer.due():
                printer.update(
                    ray.get(board.snapshot.remote()), sum(r is not None for r in results)
                )
                printer.tick()
        if printer.enabled:
            printer.update(ray.get(board.snapshot.remote()), sum(r is not None for r in results))
            printer.finish()
    for stage in staged:
        result = results[stage.index] or InputResult(stage.item.label, 0, 0.0, interrupted=True)
        results[stage.index] = _finish(stage, result, json_final)
    final = [r for r in results if r is not None]
    for result in final:
        result.timings = timings
    return ClusterSummary(final, timings, batch_sizes, time.perf_counter() - began, stop)


def _assemble_json(
    final: Path, staged: list[_Staged], results: list[InputResult], force: bool
) -> None:
    """Join the inputs' JSON parts, in input order, into the run's JSON Lines file."""
    parts = [s.json_part for s in staged if s.json_part is not None]
    if not any(final in r.outputs for r in results):
        return
    try:
        if final.exists() and not final.is_file():  # a device such as /dev/null
            with final.open("wb") as out:
                _copy_parts(parts, out)
            return
        with PendingFile(final, overwrite=force) as file, file.open() as out:
            _copy_parts(parts, out)
    except GstreamedError as exc:
        for result in results:
            if final in result.outputs:
                result.outputs.remove(final)
                result.error = result.error or str(exc)


def _copy_parts(parts: list[PendingFile], out: Any) -> None:
    for part in parts:
        if part.path.exists():
            out.write(part.path.read_bytes())
