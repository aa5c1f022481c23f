"""`Detections`: one value type for the results of a frame, columns as numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NO_TRACK = -1


@dataclass
class Detections:
    """Boxes of one frame in original-frame pixels.

    xyxy: [N, 4] float32, confidence: [N] float32, class_id: [N] int32,
    track_id: [N] int64 (``-1`` = not tracked), names: the class-name table class ids refer to,
    raw_xyxy: [N, 4] float32 or None: the detector's own box when ``xyxy`` holds a tracker's
    (Kalman-filtered or predicted) box instead.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    track_id: np.ndarray = field(default=None)  # type: ignore[arg-type]  # None: untracked
    names: Sequence[str] = ()
    raw_xyxy: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(self.xyxy)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(n)
        self.class_id = np.asarray(self.class_id, dtype=np.int32).reshape(n)
        if self.track_id is None:
            self.track_id = np.full(n, NO_TRACK, dtype=np.int64)
        else:
            self.track_id = np.asarray(self.track_id, dtype=np.int64).reshape(n)
        if self.raw_xyxy is not None:
            self.raw_xyxy = np.asarray(self.raw_xyxy, dtype=np.float32).reshape(n, 4)

    @classmethod
    def empty(cls, names: Sequence[str] = ()) -> Detections:
        """No detections, with the given class-name table."""
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int32),
            names=names,
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> Detections:
        """Select rows by mask, index array or slice; keeps the name table."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            self.xyxy[index],
            self.confidence[index],
            self.class_id[index],
            self.track_id[index],
            self.names,
            None if self.raw_xyxy is None else self.raw_xyxy[index],
        )

    def with_track_ids(self, track_id: np.ndarray) -> Detections:
        """A copy of these detections carrying the given track ids."""
        return Detections(
            self.xyxy, self.confidence, self.class_id, track_id, self.names, self.raw_xyxy
        )

    @property
    def detector_xyxy(self) -> np.ndarray:
        """The detector's boxes: ``raw_xyxy`` when a tracker replaced them, else ``xyxy``."""
        return self.xyxy if self.raw_xyxy is None else self.raw_xyxy

    def class_name(self, class_id: int) -> str:
        """The name of a class id, or its number when the table does not cover it."""
        return self.names[class_id] if 0 <= class_id < len(self.names) else str(class_id)

    @property
    def class_names(self) -> list[str]:
        """The class name of each row."""
        return [self.class_name(int(k)) for k in self.class_id]

    def to_records(self) -> list[dict[str, Any]]:
        """Rows as JSON-ready dicts (bbox, confidence, class_id, class_name, track_id or None)."""
        return [
            {
                "bbox": [round(float(v), 2) for v in box],
                "confidence": round(float(conf), 4),
                "class_id": int(cls),
                "class_name": self.class_name(int(cls)),
                "track_id": int(tid) if tid != NO_TRACK else None,
            }
            for box, conf, cls, tid in zip(
                self.xyxy, self.confidence, self.class_id, self.track_id, strict=True
            )
        ]

    @staticmethod
    def concatenate(parts: Sequence[Detections], names: Sequence[str] = ()) -> Detections:
        """Join several detection sets (same name table) into one."""
        if not parts:
            return Detections.empty(names)
        return Detections(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.class_id for p in parts]),
            np.concatenate([p.track_id for p in parts]),
            parts[0].names or names,
            None
            if all(p.raw_xyxy is None for p in parts)
            else np.concatenate([p.detector_xyxy for p in parts]),
        )
