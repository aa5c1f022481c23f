"""The GStreamer elements ``gstreamed_detect``, ``gstreamed_track`` and ``gstreamed_overlay``.

All three are in-place ``GstBase.BaseTransform`` filters on ``video/x-raw,format=RGB``.
Detections travel between them as ``GstVideoRegionOfInterestMeta`` (see `gstreamed.gst.meta`),
so any of them can be combined with other elements that read or write those metas.
The application may set ``element.timings`` (a `Timings`) to collect per-stage durations.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from gi.repository import GLib, GObject, Gst, GstBase, GstVideo

from gstreamed import defaults
from gstreamed.detect.detector import Detector
from gstreamed.errors import GstreamedError
from gstreamed.gst import meta
from gstreamed.render import draw
from gstreamed.timing import Timings
from gstreamed.track import DEFAULT_TRACKER, TRACKERS, Tracker, create_tracker

RGB_CAPS = Gst.Caps.from_string("video/x-raw,format=RGB")
AUTHOR = "gstreamed developers"


def _templates() -> tuple[Gst.PadTemplate, Gst.PadTemplate]:
    return (
        Gst.PadTemplate.new("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, RGB_CAPS),
        Gst.PadTemplate.new("sink", Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, RGB_CAPS),
    )


class _RgbFilter(GstBase.BaseTransform):
    """Common base: property values, the negotiated video info, frame mapping, errors.

    Subclasses list their GObject properties once in ``PROPERTIES`` (and pass a copy to
    ``__gproperties__``, which PyGObject consumes); values live in ``props_values`` and the
    names set by the application are in ``explicit``.
    """

    __gsttemplates__ = _templates()
    PROPERTIES: ClassVar[dict[str, tuple[Any, ...]]] = {}

    def __init__(self) -> None:
        super().__init__()
        self.props_values: dict[str, Any] = {k: v[-2] for k, v in self.PROPERTIES.items()}
        self.explicit: set[str] = set()
        self.video_info: GstVideo.VideoInfo | None = None
        self.timings: Timings | None = None
        self.set_in_place(True)

    def do_get_property(self, prop: GObject.ParamSpec) -> Any:
        return self.props_values[prop.name]

    def do_set_property(self, prop: GObject.ParamSpec, value: Any) -> None:
        self.props_values[prop.name] = value
        self.explicit.add(prop.name)
        self.property_changed(prop.name)

    def property_changed(self, name: str) -> None:
        """Hook for subclasses whose state depends on a property."""

    def do_set_caps(self, incaps: Gst.Caps, outcaps: Gst.Caps) -> bool:
        self.video_info = GstVideo.VideoInfo.new_from_caps(incaps)
        return self.video_info is not None

    def frame_array(self, info: Gst.MapInfo) -> np.ndarray:
        """The mapped buffer as an HxWx3 uint8 array (row stride honoured, no copy)."""
        vi = self.video_info
        assert vi is not None
        return np.ndarray(
            (vi.height, vi.width, 3), np.uint8, info.data, strides=(vi.stride[0], 3, 1)
        )

    def fail(self, message: str) -> Gst.FlowReturn:
        """Post an element error with a one-line message and stop the stream."""
        self.post_message(
            Gst.Message.new_error(
                self,
                GLib.Error.new_literal(Gst.StreamError.quark(), message, Gst.StreamError.FAILED),
                message,
            )
        )
        return Gst.FlowReturn.ERROR

    def record(self, stage: str, seconds: float) -> None:
        if self.timings is not None:
            self.timings.add(stage, seconds)


DETECT_PROPERTIES: dict[str, tuple[Any, ...]] = {
    "model": (
        str,
        "model",
        "path of the YOLO model (.onnx, or .safetensors with torch)",
        None,
        GObject.ParamFlags.READWRITE,
    ),
    "backend": (
        str,
        "backend",
        "inference backend: ort or torch",
        "ort",
        GObject.ParamFlags.READWRITE,
    ),
    "device": (str, "device", "cpu, cuda or cuda:N", "cpu", GObject.ParamFlags.READWRITE),
    "conf": (
        float,
        "conf",
        "confidence threshold",
        0.0,
        1.0,
        defaults.CONF_THRESHOLD,
        GObject.ParamFlags.READWRITE,
    ),
    "iou": (
        float,
        "iou",
        "NMS IoU threshold",
        0.0,
        1.0,
        defaults.IOU_THRESHOLD,
        GObject.ParamFlags.READWRITE,
    ),
    "classes": (
        str,
        "classes",
        "comma-separated class names or ids to keep (empty: all)",
        "",
        GObject.ParamFlags.READWRITE,
    ),
    "max-det": (
        int,
        "max-det",
        "maximum detections per frame",
        1,
        10000,
        defaults.MAX_DETECTIONS,
        GObject.ParamFlags.READWRITE,
    ),
}


class DetectElement(_RgbFilter):
    """Runs a YOLO detection model on each frame and attaches the boxes as ROI metas."""

    __gstmetadata__ = (
        "gstreamed YOLO detector",
        "Filter/Analyzer/Video",
        "Detects objects with a YOLOv8/YOLO11 model and attaches GstVideoRegionOfInterestMeta",
        AUTHOR,
    )
    PROPERTIES = DETECT_PROPERTIES
    __gproperties__: ClassVar[dict[str, tuple[Any, ...]]] = dict(DETECT_PROPERTIES)

    def __init__(self) -> None:
        super().__init__()
        self.detector: Detector | None = None

    def property_changed(self, name: str) -> None:
        self.detector = None  # rebuilt with the new settings on start

    def do_start(self) -> bool:
        if self.detector is None and not self._load_detector():
            return False
        if self.timings is not None:
            self.detector.timings = self.timings  # type: ignore[union-attr]
        return True

    def _load_detector(self) -> bool:
        p = self.props_values
        if not p["model"]:
            self.fail("gstreamed_detect: set the 'model' property to a YOLO model path")
            return False
        try:
            self.detector = Detector.from_model(
                p["model"],
                p["backend"],
                p["device"],
                conf=p["conf"],
                iou=p["iou"],
                classes=p["classes"] or None,
                max_det=p["max-det"],
            )
        except GstreamedError as exc:
            self.fail(str(exc))
            return False
        return True

    def do_transform_ip(self, buffer: Gst.Buffer) -> Gst.FlowReturn:
        detector = self.detector
        assert detector is not None
        try:
            with buffer.map(Gst.MapFlags.READ) as info:
                detections = detector.detect(self.frame_array(info))
        except GstreamedError as exc:
            return self.fail(str(exc))
        meta.attach(buffer, detections)
        return Gst.FlowReturn.OK


OVERLAY_PROPERTIES: dict[str, tuple[Any, ...]] = {
    "thickness": (
        int,
        "thickness",
        "box line width in pixels (0: from frame size)",
        0,
        64,
        0,
        GObject.ParamFlags.READWRITE,
    ),
    "show-confidence": (
        bool,
        "show-confidence",
        "draw confidences in labels",
        True,
        GObject.ParamFlags.READWRITE,
    ),
}


class OverlayElement(_RgbFilter):
    """Draws the boxes, class names, confidences and track ids of the ROI metas."""

    __gstmetadata__ = (
        "gstreamed overlay",
        "Filter/Effect/Video",
        "Draws GstVideoRegionOfInterestMeta boxes with labels and track ids",
        AUTHOR,
    )
    PROPERTIES = OVERLAY_PROPERTIES
    __gproperties__: ClassVar[dict[str, tuple[Any, ...]]] = dict(OVERLAY_PROPERTIES)

    def do_transform_ip(self, buffer: Gst.Buffer) -> Gst.FlowReturn:
        start = time.perf_counter()
        detections = meta.read(buffer)
        if len(detections):
            with buffer.map(Gst.MapFlags.READ | Gst.MapFlags.WRITE) as info:
                draw(
                    self.frame_array(info),
                    detections,
                    self.props_values["thickness"] or None,
                    show_conf=self.props_values["show-confidence"],
                )
        self.record("annotation", time.perf_counter() - start)
        return Gst.FlowReturn.OK


def _param_spec(tracker: str, param: Any) -> tuple[Any, ...]:
    """A GObject property spec for one tracker parameter (``sort-max-age`` etc.)."""
    flags = GObject.ParamFlags.READWRITE
    nick = f"{tracker}-{param.name.replace('_', '-')}"
    if param.type is bool:
        return (bool, nick, param.help, param.default, flags)
    low = param.minimum if param.minimum is not None else -1e9
    high = param.maximum if param.maximum is not None else 1e9
    if param.type is int:
        return (
            int,
            nick,
            param.help,
            int(max(low, -(2**31))),
            int(min(high, 2**31 - 1)),
            param.default,
            flags,
        )
    return (float, nick, param.help, float(low), float(high), float(param.default), flags)


TRACK_PROPERTIES: dict[str, tuple[Any, ...]] = {
    "tracker": (
        str,
        "tracker",
        f"tracking algorithm: {', '.join(TRACKERS)}",
        DEFAULT_TRACKER,
        GObject.ParamFlags.READWRITE,
    ),
    **{
        f"{name}-{p.name.replace('_', '-')}": _param_spec(name, p)
        for name, cls in TRACKERS.items()
        for p in cls.PARAMS
    },
}


class TrackElement(_RgbFilter):
    """Assigns track ids to the ROI metas of each frame with a multi-object tracker.

    Each element instance owns its tracker, so two streams never share track ids.
    """

    __gstmetadata__ = (
        "gstreamed tracker",
        "Filter/Analyzer/Video",
        "Tracks GstVideoRegionOfInterestMeta boxes across frames (SORT, "
        "ByteTrack) and sets their track ids",
        AUTHOR,
    )
    PROPERTIES = TRACK_PROPERTIES
    __gproperties__: ClassVar[dict[str, tuple[Any, ...]]] = dict(TRACK_PROPERTIES)

    def __init__(self) -> None:
        super().__init__()
        # Builds a tracker for a stream frame rate (None = unknown); the application may
        # replace it, e.g. with one built from command-line options.
        self.make_tracker: Callable[[float | None], Tracker] = self._tracker_from_properties
        self.tracker: Tracker | None = None
        self._frames = 0

    def _tracker_from_properties(self, frame_rate: float | None) -> Tracker:
        """The tracker the properties describe; ByteTrack follows the stream's frame rate."""
        name = self.props_values["tracker"]
        prefix = f"{name}-"
        params = {
            key[len(prefix) :].replace("-", "_"): value
            for key, value in self.props_values.items()
            if key.startswith(prefix) and key in self.explicit
        }
        return create_tracker(name, frame_rate, **params)

    def _new_tracker(self, frame_rate: float | None) -> bool:
        try:
            self.tracker = self.make_tracker(frame_rate)
        except GstreamedError as exc:
            self.fail(str(exc))
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

    def do_transform_ip(self, buffer: Gst.Buffer) -> Gst.FlowReturn:
        assert self.tracker is not None
        start = time.perf_counter()
        tracked = self.tracker.update(meta.read(buffer))
        self._frames += 1
        meta.remove(buffer)
        meta.attach(buffer, tracked)
        self.record("tracking", time.perf_counter() - start)
        return Gst.FlowReturn.OK


ELEMENTS: dict[str, type] = {
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
