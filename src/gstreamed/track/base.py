"""`Tracker`: the base class every tracking algorithm derives from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gstreamed.detect.detections import NO_TRACK, Detections
from gstreamed.params import Param, ParamSet, param

TrackerParam = Param  # the name parameters of trackers had before all tables shared `Param`
BOXES = ("kalman", "detection")


@dataclass(eq=False, kw_only=True)
class Tracker(ParamSet, ABC):
    """A multi-object tracker for one stream.

    Subclasses are dataclasses whose fields, declared with `gstreamed.params.param`, are the
    tracker's parameters: they drive validation, the CLI options and the element properties.
    ``update`` takes one frame's detections and returns all of them, in order: rows held by
    a confirmed track carry its ``track_id`` >= 1 and (``box="kalman"``) the track's filtered
    box, the others ``track_id`` -1; ``raw_xyxy`` keeps the detector's boxes. ``predict``
    advances the tracks over a frame without detections; ``reset`` forgets all tracks and
    restarts ids at 1.
    """

    box: str = param(
        "kalman",
        "box of a tracked detection: the track's Kalman-filtered box or the detector's own",
        choices=BOXES,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self._names: Sequence[str] = ()
        self._next_id = 1  # the id the next reported track gets (`reset` restarts it)
        self.reset()

    @property
    def min_score(self) -> float | None:
        """The lowest detection score this tracker uses (None: whatever it is given).

        A detector feeding it should detect down to this score; the untracked rows below the
        detector's usual threshold are then the caller's to drop (`drop_untracked_below`).
        """
        return None

    @property
    def uses_frames(self) -> bool:
        """Whether ``update`` uses the frame's pixels when given them (camera motion)."""
        return False

    @abstractmethod
    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Detections:
        """Track one frame; returns every row of ``detections``, tracked ones with ids.

        ``frame`` (HxWx3 RGB, optional) is the image, for trackers that `uses_frames`.
        """

    @abstractmethod
    def predict(self) -> Detections:
        """Advance every track one frame that has no detections (a frame the detector
        skipped); returns the predicted boxes of the reported tracks, with their ids.

        Skipped frames move the tracks but do not count as frames without a match.
        """

    @abstractmethod
    def reset(self) -> None:
        """Drop every track and restart ids at 1."""

    def continue_numbering(self, previous: Tracker) -> None:
        """Number new tracks after the ids ``previous`` gave (this tracker replaces it, e.g.
        after a gap in a live stream): an id never names two objects in one run."""
        self._next_id = max(self._next_id, previous._next_id)

    def _name_reported(self, ids: np.ndarray, report: np.ndarray) -> None:
        """Give the reported tracks that have no id yet (0 in ``ids``) the next ids."""
        unnamed = report & (ids == 0)
        count = int(np.count_nonzero(unnamed))
        if count:
            ids[unnamed] = np.arange(self._next_id, self._next_id + count)
            self._next_id += count

    def _result(
        self, detections: Detections, rows: np.ndarray, ids: np.ndarray, boxes: np.ndarray
    ) -> Detections:
        """Every row of ``detections``; ``rows`` get track ``ids`` and, with the Kalman box
        setting, the track ``boxes`` (xyxy)."""
        self._names = detections.names
        track_id = np.full(len(detections), NO_TRACK, np.int64)
        track_id[rows] = ids
        xyxy = detections.xyxy
        if self.box == "kalman" and len(rows):
            xyxy = xyxy.copy()
            xyxy[rows] = boxes
        return Detections(
            xyxy,
            detections.confidence,
            detections.class_id,
            track_id,
            detections.names,
            detections.xyxy,
        )

    def _predicted(
        self, boxes: np.ndarray, ids: np.ndarray, score: np.ndarray, class_id: np.ndarray
    ) -> Detections:
        """Predicted tracks as detections (their last score and class; no detector box)."""
        order = np.argsort(ids)
        boxes = boxes[order]
        return Detections(boxes, score[order], class_id[order], ids[order], self._names, boxes)


def drop_untracked_below(detections: Detections, threshold: float) -> Detections:
    """``detections`` without the untracked rows scoring under ``threshold``."""
    keep = (detections.track_id != NO_TRACK) | (detections.confidence >= threshold)
    return detections if keep.all() else detections[keep]
