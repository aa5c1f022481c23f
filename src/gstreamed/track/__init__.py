"""Multi-object tracking: SORT and ByteTrack behind one `Tracker` interface.

`TRACKERS` is the table of trackers; each class's ``PARAMS`` describes its parameters and
drives the CLI options (`add_tracker_arguments`) and element properties.
"""

from __future__ import annotations

from gstreamed.track.base import Tracker, TrackerParam
from gstreamed.track.bytetrack import ByteTracker
from gstreamed.track.options import (
    DEFAULT_TRACKER,
    TRACKERS,
    add_tracker_arguments,
    create_tracker,
    option_name,
    tracker_from_args,
)
from gstreamed.track.sort import SortTracker

__all__ = [
    "DEFAULT_TRACKER",
    "TRACKERS",
    "ByteTracker",
    "SortTracker",
    "Tracker",
    "TrackerParam",
    "add_tracker_arguments",
    "create_tracker",
    "option_name",
    "tracker_from_args",
]
