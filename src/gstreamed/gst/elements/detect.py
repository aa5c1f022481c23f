"""``gstreamed_detect``: runs a YOLO detection model on each frame, boxes as ROI metas."""

from __future__ import annotations

from typing import Any, ClassVar

from gi.repository import Gst, GstBase

from gstreamed.detect.batching import BatchParams, SharedDetector, StreamDetector, acquire, release
from gstreamed.detect.detector import Detector, load_detector
from gstreamed.detect.params import DetectionParams, ModelParams
from gstreamed.errors import GstreamedError
from gstreamed.gst import meta
from gstreamed.gst.elements.base import AUTHOR, RgbFilter, property_error
from gstreamed.gst.properties import properties_of, values_of


class DetectElement(RgbFilter):
    """Runs a YOLO detection model on each frame and attaches the boxes as ROI metas.

    Properties: the `ModelParams`, `DetectionParams` and `BatchParams` tables. Elements that
    name the same ``model-instance-id`` share one model and batch their frames (the first
    one to start loads it with its properties). The application may set ``detector`` to a
    loaded `Detector` instead (private to this element).
    """

    __gstmetadata__ = (
        "gstreamed YOLO detector",
        "Filter/Analyzer/Video",
        "Detects objects with a YOLOv8/YOLO11 model and attaches GstVideoRegionOfInterestMeta",
        AUTHOR,
    )
    __gproperties__: ClassVar[dict[str, tuple[Any, ...]]] = properties_of(
        ModelParams, DetectionParams, BatchParams
    )

    def __init__(self) -> None:
        super().__init__()
        self.detector: Detector | None = None
        self._stream: StreamDetector | None = None
        self._instance = ""
        self._frames = 0

    def property_changed(self, name: str) -> None:
        if name in {f"{p.option}" for p in (*ModelParams.params(), *DetectionParams.params())}:
            self.detector = None  # rebuilt with the new settings on start

    def do_start(self) -> bool:
        self._frames = 0
        try:
            batching = BatchParams.from_values(values_of(BatchParams, self.props_values))
            if batching.model_instance_id:
                self._instance = batching.model_instance_id
                shared = acquire(self._instance, lambda: self._shared(batching))
                self._stream = shared.stream()
            elif self.detector is None:
                self.detector = self._load_detector()
        except GstreamedError as exc:
            self.fail(property_error("gstreamed_detect", exc))
            return False
        detector = self._stream.shared.detector if self._stream else self.detector
        if self.timings is not None and detector is not None:
            detector.timings = self.timings
        return True

    def do_stop(self) -> bool:
        self._end_stream()
        if self._instance:
            release(self._instance)
            self._instance = ""
        return True

    def do_sink_event(self, event: Gst.Event) -> bool:
        if event.type == Gst.EventType.EOS:
            self._end_stream()  # the other streams' batches stop waiting for this one
        return GstBase.BaseTransform.do_sink_event(self, event)

    def _end_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def _load_detector(self) -> Detector:
        if not self.props_values["model"]:
            raise GstreamedError("set the 'model' property to a YOLO model path")
        return load_detector(
            **values_of(ModelParams, self.props_values),
            **values_of(DetectionParams, self.props_values),
        )

    def _shared(self, batching: BatchParams) -> SharedDetector:
        detector = self.detector or self._load_detector()
        return SharedDetector.from_params(detector, batching)

    def transform(self, buffer: Gst.Buffer) -> Gst.FlowReturn:
        interval = self.props_values["inference-interval"]
        self._frames += 1
        if (self._frames - 1) % interval:
            from gstreamed.gst.skipped import mark_skipped  # lazily: see skipped.py

            mark_skipped(buffer)
            return Gst.FlowReturn.OK
        detector = self._stream or self.detector
        assert detector is not None
        with buffer.map(Gst.MapFlags.READ) as info:
            detections = detector.detect(self.frame_array(info))
        assert self.video_info is not None
        meta.attach(buffer, detections, self.video_info.width, self.video_info.height)
        return Gst.FlowReturn.OK
