"""The tracker table (`TRACKERS`) and the factory built on it."""

from __future__ import annotations

from typing import Any

from gstreamed.errors import GstreamedError
from gstreamed.track.base import Tracker
from gstreamed.track.botsort import BotSortTracker
from gstreamed.track.bytetrack import ByteTracker
from gstreamed.track.ocsort import OcSortTracker
from gstreamed.track.sort import SortTracker

TRACKERS: dict[str, type[Tracker]] = {
    "sort": SortTracker,
    "bytetrack": ByteTracker,
    "ocsort": OcSortTracker,
    "botsort": BotSortTracker,
}
DEFAULT_TRACKER = "botsort"


def create_tracker(name: str, stream_rate: float | None = None, **params: Any) -> Tracker:
    """A new tracker by table name; GstreamedError for an unknown name or a bad parameter.

    ``stream_rate`` is the frame rate of the stream when known: a tracker with a
    ``frame_rate`` parameter (ByteTrack) follows it unless ``frame_rate`` is given.
    """
    cls = TRACKERS.get(name)
    if cls is None:
        raise GstreamedError(f"unknown tracker {name!r}; choose one of: {', '.join(TRACKERS)}")
    if (
        stream_rate
        and stream_rate > 0
        and "frame_rate" not in params
        and any(p.name == "frame_rate" for p in cls.params())
    ):
        params["frame_rate"] = stream_rate
    return cls.from_values(params)
