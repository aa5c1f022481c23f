"""Structured results: JSON Lines, one object per frame."""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Protocol

from gstreamed.detect.detections import Detections
from gstreamed.errors import GstreamedError


def frame_record(frame: int, pts: float | None, detections: Detections) -> dict[str, object]:
    """The JSON object of one frame: ``{"frame", "pts", "detections": [...]}``."""
    return {
        "frame": frame,
        "pts": None if pts is None else round(pts, 6),
        "detections": detections.to_records(),
    }


class ResultWriter(Protocol):
    """A per-frame results file (JSON Lines, MOTChallenge): one ``write`` per frame."""

    def write(self, frame: int, pts: float | None, detections: Detections) -> None:
        """Append the results of one frame (0-based index, pts in seconds or None)."""
        ...

    def close(self) -> None:
        """Flush and close the file."""
        ...


STDOUT = Path("-")  # the output path that means standard output


class LineFile:
    """A text file written a whole line (or a frame's lines) at a time, unbuffered.

    Each `append` reaches the file before it returns, so a run that stops keeps every frame
    before; a failed write (disk full) is cut back to the last complete line where the file
    allows it, and raises `GstreamedError` naming ``path`` and the cause. ``path`` ``-`` is
    standard output; ``write_to`` is the file actually written (a `PendingFile`'s temporary
    name), ``path`` the name messages use.
    """

    def __init__(self, path: str | Path, write_to: str | Path | None = None) -> None:
        self.path = Path(path)
        target = Path(write_to) if write_to is not None else self.path
        self._own = target != STDOUT
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            self._fd = os.open(target, flags, 0o666) if self._own else sys.stdout.fileno()
        except OSError as err:
            raise GstreamedError(f"{self.path}: cannot write it: {err.strerror}") from None
        self._seekable = self._own and os.path.isfile(target)
        self._closed = False

    def append(self, text: str) -> None:
        """Write ``text`` (whole lines) to the file, all of it or none."""
        data = text.encode("utf-8")
        start = os.lseek(self._fd, 0, os.SEEK_CUR) if self._seekable else 0
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as err:
            if self._seekable:
                os.ftruncate(self._fd, start)
                os.lseek(self._fd, start, os.SEEK_SET)
            reason = "no space left on the device" if err.errno == errno.ENOSPC else err.strerror
            raise GstreamedError(f"{self.path}: cannot write it: {reason}") from None

    def close(self) -> None:
        """Close the file (idempotent; standard output stays open)."""
        if not self._closed and self._own:
            os.close(self._fd)
        self._closed = True


class JsonlWriter:
    """Writes one JSON object per frame to a file, each line written through as it comes
    (`LineFile`), so partial runs keep data and no line is ever cut.

    Several streams can share one file (``for_source``): each object then starts with the
    ``source`` it belongs to; lines from different threads never interleave. ``write_to``:
    see `LineFile`.
    """

    def __init__(self, path: str | Path, write_to: str | Path | None = None) -> None:
        self._file = LineFile(path, write_to)
        self.path = self._file.path
        self._lock = threading.Lock()

    def write(
        self, frame: int, pts: float | None, detections: Detections, source: str | None = None
    ) -> None:
        """Append the record of one frame (0-based index, pts in seconds or None)."""
        record = frame_record(frame, pts, detections)
        if source is not None:
            record = {"source": source, **record}
        line = json.dumps(record) + "\n"
        with self._lock:
            self._file.append(line)

    def for_source(self, source: str) -> ResultWriter:
        """A writer of this file's records of one input (closing it leaves the file open)."""
        return _SourceRecords(self, source)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _SourceRecords:
    """The records of one input in a shared `JsonlWriter`."""

    def __init__(self, writer: JsonlWriter, source: str) -> None:
        self.writer, self.source = writer, source

    def write(self, frame: int, pts: float | None, detections: Detections) -> None:
        self.writer.write(frame, pts, detections, self.source)

    def close(self) -> None:
        """The shared file is closed by its owner."""
