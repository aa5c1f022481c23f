"""Progress on stderr for long runs: frames done / total, FPS and ETA."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Prints a progress line; redrawn in place on a terminal, every ``every`` s otherwise."""

    def __init__(
        self, stream: TextIO | None = None, every: float = 0.5, enabled: bool = True
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every if self.tty else max(every, 5.0)
        self.enabled = enabled
        self.total: int | None = None
        self.frames = 0
        self.started: float | None = None
        self._last = 0.0

    def frame_done(self) -> None:
        """Count one processed frame (called from any streaming thread)."""
        if self.started is None:
            self.started = time.perf_counter()
        self.frames += 1

    def text(self) -> str:
        """``frames 120/377  9.8 fps  ETA 0:26``."""
        elapsed = time.perf_counter() - self.started if self.started else 0.0
        fps = (self.frames - 1) / elapsed if elapsed > 0 and self.frames > 1 else 0.0
        done = f"{self.frames}/{self.total}" if self.total else f"{self.frames}"
        line = f"frames {done}  {fps:5.1f} fps"
        if self.total and fps > 0:
            left = max(0, self.total - self.frames) / fps
            line += f"  ETA {int(left // 60)}:{int(left % 60):02d}"
        return line

    def tick(self, force: bool = False) -> None:
        """Print the current state if a frame is done and it is time to (or ``force``)."""
        now = time.perf_counter()
        if not self.enabled or (
            not force and (self.started is None or now - self._last < self.every)
        ):
            return  # nothing to show before the first frame, or too soon
        self._last = now
        if self.tty:
            self.stream.write("\r\033[K" + self.text())
        else:
            self.stream.write(self.text() + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """Print the final state and end the line (nothing when no frame was done)."""
        if self.enabled and self.started is not None:
            self.tick(force=True)
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
