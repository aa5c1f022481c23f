"""``gstreamed_overlay``: draws the boxes, labels and track ids of the ROI metas."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from gi.repository import Gst

from gstreamed.gst import meta
from gstreamed.gst.elements.base import AUTHOR, RgbFilter
from gstreamed.gst.properties import properties_of, values_of
from gstreamed.render import DrawParams, draw


class OverlayElement(RgbFilter):
    """Draws the boxes, class names, confidences and track ids of the ROI metas.

    Properties: the `DrawParams` table.
    """

    __gstmetadata__ = (
        "gstreamed overlay",
        "Filter/Effect/Video",
        "Draws GstVideoRegionOfInterestMeta boxes with labels and track ids",
        AUTHOR,
    )
    __gproperties__: ClassVar[dict[str, tuple[Any, ...]]] = properties_of(DrawParams)

    def __init__(self) -> None:
        super().__init__()
        self.params = DrawParams()

    def property_changed(self, name: str) -> None:
        self.params = DrawParams.from_values(values_of(DrawParams, self.props_values))

    def transform(self, buffer: Gst.Buffer) -> Gst.FlowReturn:
        start = time.perf_counter()
        assert self.video_info is not None
        detections = meta.read(buffer, (self.video_info.width, self.video_info.height))
        if len(detections):
            with buffer.map(Gst.MapFlags.READ | Gst.MapFlags.WRITE) as info:
                draw(self.frame_array(info), detections, self.params)
        self.record("annotation", time.perf_counter() - start)
        return Gst.FlowReturn.OK
