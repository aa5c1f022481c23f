"""The tracker table (`TRACKERS`) and what is generated from it: factory and CLI options."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from gstreamed.errors import GstreamedError
from gstreamed.track.base import Tracker, TrackerParam, check_params
from gstreamed.track.bytetrack import ByteTracker
from gstreamed.track.sort import SortTracker

log = logging.getLogger(__name__)

TRACKERS: dict[str, type[Tracker]] = {"sort": SortTracker, "bytetrack": ByteTracker}
DEFAULT_TRACKER = "sort"


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
        and any(p.name == "frame_rate" for p in cls.PARAMS)
    ):
        params["frame_rate"] = stream_rate
    return cls(**check_params(name, cls.PARAMS, params))


def option_name(tracker: str, param: TrackerParam) -> str:
    """The CLI option of a tracker parameter, e.g. ``--bytetrack-track-buffer``."""
    return f"--{tracker}-{param.name.replace('_', '-')}"


def _dest(tracker: str, param: TrackerParam) -> str:
    return f"{tracker}_{param.name}"


def add_tracker_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--tracker`` and one ``--<tracker>-<param>`` option per parameter in the table."""
    group = parser.add_argument_group("tracking")
    group.add_argument(
        "--tracker",
        choices=list(TRACKERS),
        default=DEFAULT_TRACKER,
        help=f"tracking algorithm (default: {DEFAULT_TRACKER})",
    )
    for name, cls in TRACKERS.items():
        for param in cls.PARAMS:
            kwargs: dict[str, Any] = {
                "dest": _dest(name, param),
                "default": None,
                "help": f"{name}: {param.help} (default: {param.default})",
            }
            if param.type is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                kwargs["type"] = param.type
                kwargs["metavar"] = param.type.__name__.upper()
            group.add_argument(option_name(name, param), **kwargs)


def tracker_from_args(args: argparse.Namespace, frame_rate: float | None = None) -> Tracker:
    """The tracker chosen by parsed options; ``frame_rate`` is the stream's rate when known.

    A parameter not given on the command line keeps its default, except ByteTrack's
    ``frame_rate``, which follows the stream.
    """
    name = args.tracker
    params = {}
    for other, cls in TRACKERS.items():
        for param in cls.PARAMS:
            value = getattr(args, _dest(other, param), None)
            if value is None:
                continue
            if other == name:
                params[param.name] = value
            else:
                log.warning("%s ignored: the tracker is %s", option_name(other, param), name)
    return create_tracker(name, frame_rate, **params)
