"""Structured results: JSON Lines, one object per frame."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from gstreamed.detect.detections import Detections


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


class JsonlWriter:
    """Writes one JSON object per frame to a file, flushed per line so partial runs keep data.

    Several streams can share one file (``for_source``): each object then starts with the
    ``source`` it belongs to; lines from different threads never interleave.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] = self.path.open("w", encoding="utf-8")
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
            self._file.write(line)
            self._file.flush()

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
