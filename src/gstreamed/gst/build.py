"""Element helpers: make and link elements, and small pipelines built from them."""

from __future__ import annotations

import itertools
from pathlib import Path

from gstreamed.errors import GstreamedError
from gstreamed.gst import Gst


def make(factory: str, name: str | None = None, **props: object) -> Gst.Element:
    """Create an element and set its properties (``speed_preset`` → ``speed-preset``)."""
    element = Gst.ElementFactory.make(factory, name)
    if element is None:
        raise GstreamedError(
            f"GStreamer element '{factory}' is missing; install the GStreamer "
            "plugins listed in the README"
        )
    for key, value in props.items():
        element.set_property(key.rstrip("_").replace("_", "-"), value)
    return element


def link(*elements: Gst.Element) -> None:
    """Link elements in order; raise when two of them cannot be linked."""
    for upstream, downstream in itertools.pairwise(elements):
        if not upstream.link(downstream):
            raise GstreamedError(f"cannot link {upstream.get_name()} to {downstream.get_name()}")


def mp4_pipeline(path: Path, *sources: Gst.Element, keyframe_every: int = 30) -> Gst.Pipeline:
    """``sources`` (raw video) → x264 (ultrafast) → MP4 file at ``path``: for generated clips."""
    encoder = make("x264enc", key_int_max=keyframe_every)
    Gst.util_set_object_arg(encoder, "speed-preset", "ultrafast")
    elements = [
        *sources,
        make("videoconvert"),
        encoder,
        make("h264parse"),
        make("mp4mux"),
        make("filesink", location=str(path)),
    ]
    pipeline = Gst.Pipeline.new("clip")
    for element in elements:
        pipeline.add(element)
    link(*elements)
    return pipeline
