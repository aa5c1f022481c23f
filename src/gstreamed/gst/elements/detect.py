"""``gstreamed_detect``: runs a YOLO detection model on each frame, boxes as ROI metas."""

from __future__ import annotations

from typing import Any, ClassVar

from gi.repository import Gst

from gstreamed.detect.detector import Detector, load_detector
from gstreamed.detect.params import DetectionParams, ModelParams
from gstreamed.errors import GstreamedError
from gstreamed.gst import meta
from gstreamed.gst.elements.base import AUTHOR, RgbFilter, property_error
from gstreamed.gst.properties import properties_of, values_of


class DetectElement(RgbFilter):
    """Runs a YOLO detection model on each frame and attaches the boxes as ROI metas.

    Properties: the `ModelParams` and `DetectionParams` tables. The application may set
    ``detector`` to a loaded `Detector` instead.
    """

    __gstmetadata__ = (
        "gstreamed YOLO detector",
        "Filter/Analyzer/Video",
        "Detects objects with a YOLOv8/YOLO11 model and attaches GstVideoRegionOfInterestMeta",
        AUTHOR,
    )
    __gproperties__: ClassVar[dict[str, tuple[Any, ...]]] = properties_of(
        ModelParams, DetectionParams
    )

    def __init__(self) -> None:
        super().__init__()
        self.detector: Detector | None = None

    def property_changed(self, name: str) -> None:
        self.detector = None  # rebuilt with the new settings on start

    def do_start(self) -> bool:
        if self.detector is None and not self._load_detector():
            return False
        if self.timings is not None and self.detector is not None:
            self.detector.timings = self.timings
        return True

    def _load_detector(self) -> bool:
        if not self.props_values["model"]:
            self.fail("gstreamed_detect: set the 'model' property to a YOLO model path")
            return False
        try:
            self.detector = load_detector(
                **values_of(ModelParams, self.props_values),
                **values_of(DetectionParams, self.props_values),
            )
        except GstreamedError as exc:
            self.fail(property_error("gstreamed_detect", exc))
            return False
        return True

    def transform(self, buffer: Gst.Buffer) -> Gst.FlowReturn:
        detector = self.detector
        assert detector is not None
        with buffer.map(Gst.MapFlags.READ) as info:
            detections = detector.detect(self.frame_array(info))
        meta.attach(buffer, detections)
        return Gst.FlowReturn.OK
