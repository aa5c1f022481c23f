"""Progress on stderr for long runs: frames done / total, FPS and ETA, per input and in total.

`Progress` counts one input's frames (from any streaming thread); `ProgressPrinter` shows
one line for a single input, or one line per input plus a total line for several. On a
terminal the lines are redrawn in place; otherwise they are printed every few seconds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO


class Progress:
    """Frames done (and expected, when known) of one input."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.frames = 0
        self.started: float | None = None
        self.status = ""  # shown after the numbers: "done", "failed", "reconnecting (2)"

    def frame_done(self) -> None:
        """Count one processed frame (called from any streaming thread)."""
        if self.started is None:
            self.started = time.perf_counter()
        self.frames += 1

    @property
    def fps(self) -> float:
        """Frames per second since the first frame."""
        elapsed = time.perf_counter() - self.started if self.started else 0.0
        return (self.frames - 1) / elapsed if elapsed > 0 and self.frames > 1 else 0.0

    def text(self) -> str:
        """``frames 120/377  9.8 fps  ETA 0:26``."""
        fps = self.fps
        done = f"{self.frames}/{self.total}" if self.total else f"{self.frames}"
        line = f"frames {done}  {fps:5.1f} fps"
        if self.total and fps > 0 and not self.status:
            line += f"  ETA {format_eta(max(0, self.total - self.frames) / fps)}"
        return f"{line}  {self.status}" if self.status else line


def format_eta(seconds: float) -> str:
    """``1:05`` for 65 s, ``2:03:05`` past an hour."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressPrinter:
    """Prints the progress of one or several inputs (see the module doc)."""

    def __init__(
        self,
        inputs: Sequence[tuple[str, Progress]],
        stream: TextIO | None = None,
        every: float = 0.5,
        enabled: bool = True,
    ) -> None:
        self.inputs = list(inputs)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every if self.tty else max(every, 5.0)
        self.enabled = enabled
        self._last = 0.0
        self._drawn = 0  # lines drawn last time on a terminal
        self._started = time.perf_counter()

    def lines(self) -> list[str]:
        """The current lines: one for a single input; per input and a total for several."""
        if len(self.inputs) == 1:
            return [self.inputs[0][1].text()]
        width = max(len(label) for label, _ in self.inputs)
        lines = [f"{label:<{width}}  {p.text()}" for label, p in self.inputs]
        return [*lines, f"{'total':<{width}}  {self._total()}"]

    def _total(self) -> str:
        frames = sum(p.frames for _, p in self.inputs)
        elapsed = time.perf_counter() - self._started
        done = sum(1 for _, p in self.inputs if p.status)
        line = f"frames {frames}  {frames / elapsed if elapsed > 0 else 0.0:5.1f} fps"
        line += f"  inputs {done}/{len(self.inputs)} ended"
        totals = [p.total for _, p in self.inputs]
        rate = sum(p.fps for _, p in self.inputs)
        if all(totals) and rate > 0:
            left = sum(
                max(0, (t or 0) - p.frames) for t, (_, p) in zip(totals, self.inputs, strict=True)
            )
            line += f"  ETA {format_eta(left / rate)}"
        return line

    def tick(self, force: bool = False) -> None:
        """Print the current state when a frame is done and it is time to (or ``force``)."""
        now = time.perf_counter()
        started = any(p.started is not None for _, p in self.inputs)
        if not self.enabled or (not force and (not started or now - self._last < self.every)):
            return
        self._last = now
        lines = self.lines()
        if self.tty:
            up = f"\033[{self._drawn - 1}F" if self._drawn > 1 else "\r"
            self.stream.write(up + "\n".join("\033[K" + line for line in lines))
            self._drawn = len(lines)
        else:
            self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """Print the final state and end the line (nothing when no frame was done)."""
        if self.enabled and any(p.started is not None for _, p in self.inputs):
            self.tick(force=True)
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
