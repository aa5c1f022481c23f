"""`Detections`: one value type for the results of a frame, columns as numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from gstreamed.errors import GstreamedError

if TYPE_CHECKING:
    import supervision as sv

NO_TRACK = -1
NAMES_KEY = "class_names"  # the name table in `supervision.Detections.metadata`


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

    def to_supervision(self) -> sv.Detections:
        """These detections as `supervision.Detections` (``pip install 'gstreamed[supervision]'``).

        ``tracker_id`` is None when no row is tracked (else untracked rows keep -1, which
        supervision's tools ignore), ``data["class_name"]`` holds each row's class name and
        ``metadata["class_names"]`` the name table, so `from_supervision` gives them back.
        """
        sv = _supervision()
        tracked = bool((self.track_id != NO_TRACK).any())
        return sv.Detections(
            xyxy=self.xyxy.copy(),
            confidence=self.confidence.copy(),
            class_id=self.class_id.copy(),
            tracker_id=self.track_id.copy() if tracked else None,
            data={"class_name": np.array(self.class_names, dtype=str)},
            metadata={NAMES_KEY: list(self.names)},
        )

    @classmethod
    def from_supervision(
        cls, detections: sv.Detections, names: Sequence[str] | None = None
    ) -> Detections:
        """`supervision.Detections` as `Detections`: missing confidences become 1, class ids
        0, tracker ids -1. The name table is ``names``, else the one `to_supervision` left in
        ``metadata["class_names"]``, else rebuilt from ``data["class_name"]``."""
        n = len(detections)
        class_id = detections.class_id if detections.class_id is not None else np.zeros(n)
        if names is None:
            names = detections.metadata.get(NAMES_KEY)
        if names is None:
            table: dict[int, str] = {}
            for k, name in zip(class_id, detections.data.get("class_name", []), strict=False):
                table.setdefault(int(k), str(name))
            names = [table.get(k, str(k)) for k in range(max(table, default=-1) + 1)]
        tracker_id = detections.tracker_id
        return cls(
            detections.xyxy,
            detections.confidence if detections.confidence is not None else np.ones(n),
            class_id,
            tracker_id if tracker_id is not None else np.full(n, NO_TRACK),
            list(names),
        )

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


def _supervision() -> Any:
    """The supervision module, or a `GstreamedError` saying how to install it."""
    try:
        import supervision
    except ImportError:
        raise GstreamedError(
            "this needs the supervision package: pip install 'gstreamed[supervision]'"
        ) from None
    return supervision
