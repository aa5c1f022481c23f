"""`RgbFilter`: the in-place RGB transform all gstreamed elements derive from."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
from gi.repository import GLib, GObject, Gst, GstBase, GstVideo

from gstreamed.errors import GstreamedError
from gstreamed.params import ParamError
from gstreamed.timing import Timings

log = logging.getLogger(__name__)

RGB_CAPS = Gst.Caps.from_string("video/x-raw,format=RGB")
AUTHOR = "gstreamed developers"


def _templates() -> tuple[Gst.PadTemplate, Gst.PadTemplate]:
    return (
        Gst.PadTemplate.new("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, RGB_CAPS),
        Gst.PadTemplate.new("sink", Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, RGB_CAPS),
    )


def property_error(element: str, error: GstreamedError) -> str:
    """An error of an element's settings, worded with the property it concerns."""
    if isinstance(error, ParamError):
        return f"{element}: property '{error.option}' {error.reason}"
    return f"{element}: {error}"


class RgbFilter(GstBase.BaseTransform):
    """Common base: property values, the negotiated video info, frame mapping, errors.

    Subclasses set ``__gproperties__`` (generated from parameter tables by
    `gstreamed.gst.properties`); values live in ``props_values`` and the names set by the
    application are in ``explicit``. The application may set ``timings`` (a `Timings`) to
    collect per-stage durations.
    """

    __gsttemplates__ = _templates()
    __gproperties__: ClassVar[dict[str, tuple[Any, ...]]] = {}

    def __init__(self) -> None:
        super().__init__()
        # PyGObject consumes __gproperties__ at registration: read the defaults back.
        self.props_values: dict[str, Any] = {
            spec.name: spec.default_value
            for spec in self.list_properties()
            if spec.owner_type == self.__gtype__
        }
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

    def do_transform_ip(self, buffer: Gst.Buffer) -> Gst.FlowReturn:
        """`transform` one buffer; an error stops the stream with a one-line message (an
        exception left to PyGObject would let the frame pass unprocessed)."""
        try:
            return self.transform(buffer)
        except GstreamedError as exc:
            return self.fail(str(exc))
        except Exception as exc:
            log.exception("%s failed", self.get_name())
            return self.fail(f"{self.get_name()}: internal error: {exc!r}")

    def transform(self, buffer: Gst.Buffer) -> Gst.FlowReturn:
        """Process one writable buffer in place (subclasses)."""
        raise NotImplementedError

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
        """Add one sample of ``stage`` to the application's timings, if it collects them."""
        if self.timings is not None:
            self.timings.add(stage, seconds)
