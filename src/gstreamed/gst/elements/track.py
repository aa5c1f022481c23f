"""``gstreamed_track``: assigns track ids to the ROI metas with a multi-object tracker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from gi.repository import GObject, Gst

from gstreamed.errors import GstreamedError
from gstreamed.gst import meta
from gstreamed.gst.elements.base import AUTHOR, RgbFilter, property_error
from gstreamed.gst.properties import properties_of, values_of
from gstreamed.track import DEFAULT_TRACKER, TRACKERS, Tracker, create_tracker
from gstreamed.track.base import drop_untracked_below


class TrackElement(RgbFilter):
    """Assigns track ids to the ROI metas of each frame with a multi-object tracker.

    Properties: ``tracker``, ``untracked-min-score`` and every tracker's parameter table
    (``sort-max-age``, ...).
    Each element instance owns its tracker, so two streams never share track ids. Every
    detection stays (untracked ones with track id -1); on frames the detector skipped
    (`gstreamed.gst.skipped`) the metas are the tracks' predicted boxes.
    """

    __gstmetadata__ = (
        "gstreamed tracker",
        "Filter/Analyzer/Video",
        "Tracks GstVideoRegionOfInterestMeta boxes across frames (SORT, ByteTrack, "
        "OC-SORT, BoT-SORT) and sets their track ids",
        AUTHOR,
    )
    __gproperties__: ClassVar[dict[str, tuple[Any, ...]]] = {
        "tracker": (
            str,
            "tracker",
            f"tracking algorithm: {', '.join(TRACKERS)}",
            DEFAULT_TRACKER,
            GObject.ParamFlags.READWRITE,
        ),
        "untracked-min-score": (
            float,
            "untracked-min-score",
            "untracked detections scoring below this are dropped (when the detector detects "
            "below its usual threshold for the tracker's low-score pass)",
            0.0,
            1.0,
            0.0,
            GObject.ParamFlags.READWRITE,
        ),
        **properties_of(*TRACKERS.values()),
    }

    def __init__(self) -> None:
        super().__init__()
        # Builds a tracker for a stream frame rate (None = unknown); the application may
        # replace it, e.g. with one built from command-line options.
        self.make_tracker: Callable[[float | None], Tracker] = self._tracker_from_properties
        self.tracker: Tracker | None = None
        self._frames = 0

    def _tracker_from_properties(self, frame_rate: float | None) -> Tracker:
        """The tracker the properties describe; a tracker's frame rate follows the stream's
        unless set."""
        name = self.props_values["tracker"]
        if name not in TRACKERS:
            raise GstreamedError(f"unknown tracker {name!r}; choose one of: {', '.join(TRACKERS)}")
        params = values_of(TRACKERS[name], self.props_values, only=self.explicit)
        return create_tracker(name, frame_rate, **params)

    def _new_tracker(self, frame_rate: float | None) -> bool:
        try:
            self.tracker = self.make_tracker(frame_rate)
        except GstreamedError as exc:
            self.fail(property_error("gstreamed_track", exc))
            return False
        return True

    def do_start(self) -> bool:
        self._frames = 0
        return self._new_tracker(None)  # fails early on bad parameters

    def do_set_caps(self, incaps: Gst.Caps, outcaps: Gst.Caps) -> bool:
        ok, num, den = incaps.get_structure(0).get_fraction("framerate")
        if self._frames == 0 and ok and num > 0 and not self._new_tracker(num / den):
            return False
        return super().do_set_caps(incaps, outcaps)

    def transform(self, buffer: Gst.Buffer) -> Gst.FlowReturn:
        from gstreamed.gst.skipped import is_skipped  # lazily: see skipped.py

        assert self.tracker is not None
        start = time.perf_counter()
        assert self.video_info is not None
        size = (self.video_info.width, self.video_info.height)
        if is_skipped(buffer):  # no detections: the tracks' predicted boxes
            tracked = self.tracker.predict()
        elif self.tracker.uses_frames:  # camera-motion compensation looks at the pixels
            with buffer.map(Gst.MapFlags.READ) as info:
                tracked = self.tracker.update(meta.read(buffer, size), self.frame_array(info))
        else:
            tracked = self.tracker.update(meta.read(buffer, size))
        tracked = drop_untracked_below(tracked, self.props_values["untracked-min-score"])
        self._frames += 1
        meta.remove(buffer)
        meta.attach(buffer, tracked, *size)
        self.record("tracking", time.perf_counter() - start)
        return Gst.FlowReturn.OK
