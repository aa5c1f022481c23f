"""`Tracker`: the base class every tracking algorithm derives from."""

from __future__ import annotations

from abc import ABC, abstractmethod

from gstreamed.detect.detections import Detections
from gstreamed.params import Param, ParamSet

TrackerParam = Param  # the name parameters of trackers had before all tables shared `Param`


class Tracker(ParamSet, ABC):
    """A multi-object tracker for one stream.

    Subclasses are dataclasses whose fields, declared with `gstreamed.params.param`, are the
    tracker's parameters: they drive validation, the CLI options and the element properties.
    ``update`` takes one frame's detections and returns the rows that belong to a confirmed
    track, carrying ``track_id`` >= 1; ``reset`` forgets all tracks and restarts ids at 1.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.reset()

    @abstractmethod
    def update(self, detections: Detections) -> Detections:
        """Track one frame; returns the tracked rows of ``detections`` with their track ids."""

    @abstractmethod
    def reset(self) -> None:
        """Drop every track and restart ids at 1."""
