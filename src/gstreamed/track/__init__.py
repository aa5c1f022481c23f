"""Multi-object tracking: SORT, ByteTrack, OC-SORT and BoT-SORT behind one `Tracker` interface.

`TRACKERS` is the table of trackers; each tracker class is a `gstreamed.params.ParamSet`
whose parameter table drives the CLI options and element properties.
"""

from __future__ import annotations

from gstreamed.track.base import Tracker, TrackerParam
from gstreamed.track.botsort import BotSortTracker
from gstreamed.track.bytetrack import ByteTracker
from gstreamed.track.ocsort import OcSortTracker
from gstreamed.track.registry import DEFAULT_TRACKER, TRACKERS, create_tracker
from gstreamed.track.sort import SortTracker

__all__ = [
    "DEFAULT_TRACKER",
    "TRACKERS",
    "BotSortTracker",
    "ByteTracker",
    "OcSortTracker",
    "SortTracker",
    "Tracker",
    "TrackerParam",
    "create_tracker",
]
