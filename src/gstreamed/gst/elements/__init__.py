"""The GStreamer elements ``gstreamed_detect``, ``gstreamed_track`` and ``gstreamed_overlay``.

All three are in-place ``GstBase.BaseTransform`` filters on ``video/x-raw,format=RGB``.
Detections travel between them as ``GstVideoRegionOfInterestMeta`` (see `gstreamed.gst.meta`),
so any of them can be combined with other elements that read or write those metas.
"""

from __future__ import annotations

from gi.repository import GObject, Gst

from gstreamed.gst.elements.base import RgbFilter
from gstreamed.gst.elements.detect import DetectElement
from gstreamed.gst.elements.overlay import OverlayElement
from gstreamed.gst.elements.track import TrackElement

ELEMENTS: dict[str, type[RgbFilter]] = {
    "gstreamed_detect": DetectElement,
    "gstreamed_track": TrackElement,
    "gstreamed_overlay": OverlayElement,
}


def register() -> None:
    """Register the elements with GStreamer for this process (idempotent)."""
    for name, cls in ELEMENTS.items():
        if Gst.ElementFactory.find(name) is None:
            GObject.type_register(cls)
            Gst.Element.register(None, name, Gst.Rank.NONE, cls)


__all__ = ["ELEMENTS", "DetectElement", "OverlayElement", "RgbFilter", "TrackElement", "register"]
