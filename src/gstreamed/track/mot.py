"""MOTChallenge text files: detections/ground truth in, tracking results out.

Rows are ``frame,id,x,y,w,h,conf,...`` with 1-based frames and top-left/width/height boxes;
ground truth adds ``class,visibility`` after ``conf`` (conf 0 = "ignore" in ground truth).
"""

from __future__ import annotations

import configparser
import io
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from gstreamed.detect.detections import NO_TRACK, Detections
from gstreamed.errors import GstreamedError
from gstreamed.results import LineFile

MAX_FRAME = 10_000_000  # over 3 days at 30 frames/s; a larger number is a broken file
ROW_FORMAT = "%d,%d,%.2f,%.2f,%.2f,%.2f,%.4f,-1,-1,-1\n"


@dataclass
class MotTable:
    """The rows of one MOTChallenge file as columns; ``frame`` is 1-based, boxes are xyxy."""

    frame: np.ndarray  # [N] int64
    id: np.ndarray  # [N] int64
    xyxy: np.ndarray  # [N, 4] float64
    conf: np.ndarray  # [N] float64 (1.0 when the column is absent)
    class_id: np.ndarray  # [N] int64 (-1 when the column is absent)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def num_frames(self) -> int:
        """The last frame number (0 when empty)."""
        return int(self.frame.max()) if len(self.frame) else 0

    def select(self, mask: np.ndarray) -> MotTable:
        """The rows where ``mask`` is true."""
        return MotTable(
            self.frame[mask], self.id[mask], self.xyxy[mask], self.conf[mask], self.class_id[mask]
        )

    def per_frame(self, num_frames: int | None = None) -> list[Detections]:
        """One `Detections` per frame (index 0 = frame 1); ids become track ids."""
        count = max(num_frames or 0, self.num_frames)
        order = np.argsort(self.frame, kind="stable")
        bounds = np.searchsorted(self.frame[order], np.arange(1, count + 2))
        # Columns in frame order and in Detections' dtypes once: each frame is then views.
        xyxy = self.xyxy[order].astype(np.float32)
        conf = self.conf[order].astype(np.float32)
        class_id = np.maximum(self.class_id[order], 0).astype(np.int32)
        ids = self.id[order]
        return [
            Detections(xyxy[a:b], conf[a:b], class_id[a:b], ids[a:b])
            for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
        ]


def _fields(line: str) -> list[str]:
    """Comma-separated fields, or whitespace-separated when the line has no comma."""
    return line.split(",") if "," in line else line.split()


def read_mot(path: str | Path) -> MotTable:
    """Read a MOTChallenge det.txt/gt.txt/results file; GstreamedError names file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GstreamedError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise GstreamedError(f"{path}: cannot read: {err}") from None
    data = _parse_fast(text)
    if data is None:  # ragged or bad: the line-by-line parser accepts it or names the line
        data = _parse_lines(path, text)
    x, y, w, h = data[:, 2], data[:, 3], data[:, 4], data[:, 5]
    return MotTable(
        data[:, 0].astype(np.int64),
        data[:, 1].astype(np.int64),
        np.stack([x, y, x + w, y + h], axis=1),
        data[:, 6],
        data[:, 7].astype(np.int64),
    )


def _parse_fast(text: str) -> np.ndarray | None:
    """The rows as [N, 8] (conf 1, class -1 filled in) when every line has the same number
    (>= 6) of fields and every value is allowed; None otherwise."""
    first = next((ln for ln in io.StringIO(text) if ln.strip() and ln[0] != "#"), None)
    if first is None:
        return np.zeros((0, 8))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = np.loadtxt(
                io.StringIO(text),
                delimiter="," if "," in first else None,
                comments="#",
                ndmin=2,
                dtype=np.float64,
            )
    except ValueError:
        return None
    if data.shape[1] < 6:
        return None
    data = data[:, :8]
    frame = data[:, 0]
    if not (
        np.isfinite(data).all()
        and (frame >= 1).all()
        and (frame <= MAX_FRAME).all()
        and (frame == np.floor(frame)).all()
        and (data[:, 4:6] >= 0).all()
    ):
        return None
    if data.shape[1] < 8:
        fill = np.array([1.0, -1.0])[data.shape[1] - 6 :]
        data = np.concatenate([data, np.broadcast_to(fill, (len(data), len(fill)))], axis=1)
    return data


def _parse_lines(path: Path, text: str) -> np.ndarray:
    """The rows as [N, 8], line by line; GstreamedError names the first bad line."""
    rows: list[tuple[float, ...]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = _fields(line)
        if len(fields) < 6:
            raise GstreamedError(
                f"{path}:{number}: expected at least 6 comma-separated columns "
                f"(frame,id,x,y,w,h[,conf,...]), got {len(fields)}"
            )
        try:
            values = [float(f) for f in fields[:8]]
        except ValueError:
            raise GstreamedError(f"{path}:{number}: not a number in {line[:60]!r}") from None
        if not all(math.isfinite(v) for v in values):
            raise GstreamedError(f"{path}:{number}: non-finite number in {line[:60]!r}")
        if values[0] < 1 or not values[0].is_integer():
            raise GstreamedError(
                f"{path}:{number}: frame must be an integer >= 1, got {fields[0].strip()!r}"
            )
        if values[0] > MAX_FRAME:
            raise GstreamedError(
                f"{path}:{number}: frame {values[0]:.0f} is beyond the largest supported "
                f"frame number ({MAX_FRAME:,})"
            )
        if values[4] < 0 or values[5] < 0:
            raise GstreamedError(f"{path}:{number}: negative box width or height")
        if len(values) == 6:
            values.append(1.0)  # no conf column
        if len(values) == 7:
            values.append(-1.0)  # no class column
        rows.append(tuple(values))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 8)


def _rows(frame_index: int, detections: Detections) -> str:
    """Result lines of one frame (0-based index in, 1-based frame out); untracked rows skipped."""
    tracked = detections.track_id != NO_TRACK
    count = int(np.count_nonzero(tracked))
    if not count:
        return ""
    box = detections.xyxy[tracked].astype(np.float64)
    table = np.empty((count, 7))
    table[:, 0] = frame_index + 1
    table[:, 1] = detections.track_id[tracked]
    table[:, 2:4] = box[:, :2]
    table[:, 4:6] = box[:, 2:] - box[:, :2]
    table[:, 6] = detections.confidence[tracked]
    return (ROW_FORMAT * count) % tuple(table.ravel().tolist())


class MotWriter:
    """Writes tracking results in MOTChallenge format, one frame at a time.

    ``MotWriter(path).write(frame_index, pts, detections)`` with a 0-based frame index; rows
    without a track id are skipped; each frame's rows reach the file whole (`LineFile`,
    also for ``write_to``). Usable as a context manager.
    """

    def __init__(self, path: str | Path, write_to: str | Path | None = None) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise GstreamedError(
                f"cannot write tracking results to {self.path}: {err.strerror or err}"
            ) from None
        self._file: LineFile | None = LineFile(self.path, write_to)

    def write(self, frame_index: int, pts: float | None, detections: Detections) -> None:
        """Append the tracked rows of the frame with 0-based index ``frame_index``."""
        if self._file is None:
            raise ValueError(f"MotWriter for {self.path} is closed")
        if frame_index < 0:
            raise ValueError(f"frame index must be >= 0, got {frame_index}")
        self._file.append(_rows(frame_index, detections))

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> MotWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_results(path: str | Path, frames: Iterable[Detections]) -> int:
    """Write per-frame results (index 0 = frame 1) to ``path``; returns the rows written."""
    count = 0
    with MotWriter(path) as writer:
        for index, detections in enumerate(frames):
            writer.write(index, None, detections)
            count += int(np.count_nonzero(detections.track_id != NO_TRACK))
    return count


@dataclass(frozen=True)
class SeqInfo:
    """What a MOTChallenge ``seqinfo.ini`` says about a sequence (None when not given)."""

    name: str
    frame_rate: float | None = None
    length: int | None = None


def read_seqinfo(path: str | Path, default_name: str) -> SeqInfo:
    """Parse ``seqinfo.ini``; a missing file gives a SeqInfo with only the name."""
    path = Path(path)
    if not path.is_file():
        return SeqInfo(default_name)
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
        section = parser["Sequence"]
        rate = section.get("frameRate")
        length = section.get("seqLength")
        return SeqInfo(
            section.get("name", default_name),
            float(rate) if rate else None,
            int(length) if length else None,
        )
    except (configparser.Error, KeyError, ValueError) as err:
        raise GstreamedError(
            f"{path}: not a valid seqinfo.ini ([Sequence] with frameRate, seqLength): {err}"
        ) from None


def find_sequences(root: str | Path, inner: str) -> list[tuple[str, Path]]:
    """MOT-layout sequences under ``root``: (directory name, directory) of each ``SEQ/<inner>``.

    ``root`` itself is one sequence when ``root/<inner>`` exists.
    """
    root = Path(root)
    if (root / inner).is_file():
        return [(root.resolve().name, root)]
    if not root.is_dir():
        raise GstreamedError(f"{root}: no such directory")
    found = [(d.name, d) for d in sorted(root.iterdir()) if (d / inner).is_file()]
    if not found:
        raise GstreamedError(f"{root}: no sequences found (expected SEQ/{inner})")
    return found
