"""Many streams, one model: ``gstreamed bench --streams N``.

Measured in one run, on one clip played as N concurrent streams:

* **one process**: ``gstreamed CLIP x N -o DIR`` — every stream with its own tracker and
  annotated file, one shared, batched model; wall time and peak RSS of the process;
* **N processes**: N ``gstreamed CLIP -o FILE`` started together; wall time and the sum of
  their peak RSS;
* **one process, no output**: the same N streams in this process with ``--no-output`` (decode,
  detect, track), timed from the first frame (model load excluded), with the batch sizes the
  shared model actually ran;
* **forward only** at that batch size (a static-batch model: batch 1) with as many forward
  passes in flight as the shared model runs (``--nireq``), the ceiling.

Wall times include start-up (imports, model load) on both sides of the process comparison.
Peak RSS is the kernel's high-water mark (``VmHWM``), sampled until each process exits.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gstreamed.tables import markdown_table

POLL_S = 0.05


@dataclass
class StreamsResult:
    """What ``bench --streams`` measured (FPS are frames of all streams per second)."""

    streams: int
    clip: str
    clip_frames: int
    one_process_fps: float = 0.0
    one_process_peak_mb: float = 0.0
    separate_fps: float = 0.0
    separate_peak_mb: float = 0.0  # summed over the processes
    no_output_fps: float = 0.0
    batch_sizes: dict[int, int] = field(default_factory=dict)
    forward_batch: int = 1
    forward_fps: float = 0.0  # frames/s of forward passes alone at ``forward_batch``
    forward_requests: int = 1  # forward passes in flight at once, there and in the run

    @property
    def speedup(self) -> float:
        """One process's aggregate FPS over N processes'."""
        return self.one_process_fps / self.separate_fps if self.separate_fps else 0.0

    @property
    def memory_ratio(self) -> float:
        """One process's peak RSS over the N processes' summed peak RSS."""
        return self.one_process_peak_mb / self.separate_peak_mb if self.separate_peak_mb else 0.0

    @property
    def forward_efficiency(self) -> float:
        """No-output aggregate FPS over forward-only FPS at the batch size used."""
        return self.no_output_fps / self.forward_fps if self.forward_fps else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            speedup=self.speedup,
            memory_ratio=self.memory_ratio,
            forward_efficiency=self.forward_efficiency,
        )
        return data

    def to_markdown(self) -> str:
        n = self.streams
        batches = ", ".join(f"{size} x {count}" for size, count in sorted(self.batch_sizes.items()))
        rows = [
            [f"one process, {n} streams", f"{self.one_process_fps:.1f}",
             f"{self.one_process_peak_mb:.0f}", f"**{self.speedup:.2f}x** FPS, "
             f"**{self.memory_ratio:.2f}x** memory of {n} processes"],
            [f"{n} separate processes", f"{self.separate_fps:.1f}",
             f"{self.separate_peak_mb:.0f} (sum)", ""],
            [f"one process, {n} streams, --no-output", f"{self.no_output_fps:.1f}", "",
             f"**{self.forward_efficiency:.2f}x** forward-only; passes (frames x n): {batches}"],
            [f"forward only, batch {self.forward_batch}, {self.forward_requests} in flight",
             f"{self.forward_fps:.1f}", "", ""],
        ]  # fmt: skip
        table = markdown_table(["run", "aggregate FPS", "peak RSS MB", "ratio"], rows)
        return f"### {n} streams of {self.clip} ({self.clip_frames} frames each)\n\n{table}\n"


def _peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set so far (VmHWM), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def run_processes(commands: list[list[str]], timeout_s: float = 3600) -> tuple[float, list[float]]:
    """Start ``commands`` together and wait for all; wall seconds and each one's peak RSS MB.

    A command that fails raises `RuntimeError` with the end of its error output.
    """
    started = time.perf_counter()
    procs = [
        subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    peaks = [0.0] * len(procs)
    deadline = started + timeout_s
    while any(p.poll() is None for p in procs) and time.perf_counter() < deadline:
        for index, proc in enumerate(procs):
            if proc.poll() is None and (peak := _peak_rss_mb(proc.pid)) is not None:
                peaks[index] = max(peaks[index], peak)
        time.sleep(POLL_S)
    seconds = time.perf_counter() - started
    for proc, command in zip(procs, commands, strict=True):
        if proc.poll() is None:
            proc.kill()
        _, errors = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {errors.strip()[-500:]}")
    return seconds, peaks


InProcessRun = Callable[[list[Path]], tuple[int, float, Mapping[int, int]]]


def bench_streams(
    streams: int,
    clip: Path,
    cli_options: list[str],
    run_in_process: InProcessRun,
    forward_fps: Callable[[int], float | None],
    forward_requests: int = 1,
) -> StreamsResult:
    """Measure ``streams`` copies of ``clip`` (see the module doc).

    ``cli_options`` (model, backend, ...) go to every ``gstreamed`` process;
    ``run_in_process(clips)`` runs the no-output streams here and returns their
    ``(frames, seconds, batch sizes)``; ``forward_fps(batch)`` is forward-only frames/s at
    ``batch`` with ``forward_requests`` passes in flight (as the shared model runs them), or
    None where the model's batch dimension is fixed below it.
    """
    gstreamed = [sys.executable, "-m", "gstreamed"]
    with tempfile.TemporaryDirectory(prefix="gstreamed-streams-") as tmp:
        work = Path(tmp)
        clips = [work / f"stream{i}{clip.suffix}" for i in range(streams)]
        for copy in clips:
            copy.symlink_to(clip.resolve())
        frames, seconds, batch_sizes = run_in_process(clips)
        result = StreamsResult(streams, clip.name, frames // streams)
        result.no_output_fps = frames / seconds if seconds else 0.0
        result.batch_sizes = dict(batch_sizes)
        one = [*gstreamed, *map(str, clips), "-o", str(work / "one"), "--no-progress"]
        seconds, (peak,) = run_processes([one + cli_options])
        result.one_process_fps, result.one_process_peak_mb = frames / seconds, peak
        separate = [
            [*gstreamed, str(c), "-o", str(work / f"{c.name}.mkv"), "--no-progress", *cli_options]
            for c in clips
        ]
        seconds, peaks = run_processes(separate)
        result.separate_fps, result.separate_peak_mb = frames / seconds, sum(peaks)
    used = max(result.batch_sizes, key=lambda b: b * result.batch_sizes[b], default=1)
    fps = forward_fps(used)
    if fps is None:
        used, fps = 1, forward_fps(1)
    result.forward_batch, result.forward_fps = used, fps or 0.0
    result.forward_requests = forward_requests
    return result
