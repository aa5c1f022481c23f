"""GStreamer glue: elements, metadata and pipelines around the vision core."""

from __future__ import annotations

import sys
from functools import cache

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstBase", "1.0")
gi.require_version("GstVideo", "1.0")

from gi.repository import GLib, Gst  # noqa: E402

# Elements, caps and metas need an initialised GStreamer from import time on (idempotent).
Gst.init(None)

_FLOATING_NOISE = "The created element should be floating"


def _quiet_python_element_noise(domain: str, level: GLib.LogLevelFlags, message: str) -> None:
    """Drop GStreamer's harmless 'should be floating' critical raised for Python elements."""
    if _FLOATING_NOISE not in message:
        GLib.log_default_handler(domain, level, message, None)


@cache
def silence_floating_warning() -> None:
    """Install the log filter for the Python-element noise above (once)."""
    GLib.log_set_handler(
        "GStreamer", GLib.LogLevelFlags.LEVEL_CRITICAL, _quiet_python_element_noise
    )


def init() -> None:
    """Register the gstreamed elements in this process (idempotent)."""
    silence_floating_warning()
    from gstreamed.gst.elements import register

    register()


def _import_opencv() -> None:
    """Import OpenCV keeping ``sys.path`` the same list: OpenCV's loader replaces it with a
    copy, while gst-python's plugin loader (gst-inspect-1.0, gst-launch-1.0) holds a
    borrowed pointer to the original as it loads our elements; the freed list crashed it,
    depending on the heap's layout.

    OpenCV then runs each call on the calling thread: in a pipeline every stream, the
    decoders and the model have threads of their own, and OpenCV's pool (whose workers
    wait actively) took cores from them: 4 streams on 2 cores 17.8 -> 18.5 FPS, one stream
    13.8-15.2 -> 14.4-15.5.
    """
    path = sys.path
    import cv2

    if sys.path is not path:
        path[:] = sys.path
        sys.path = path
    cv2.setNumThreads(1)


_import_opencv()

# PyGObject gives a Python subclass of GstBase.BaseTransform its methods (set_in_place, ...)
# only when the class is defined before a pipeline has made it wrap another BaseTransform
# element (seen: 'DetectElement' object has no attribute 'set_in_place' after playing a
# clip-writing pipeline first). Define the elements' base class now.
import gstreamed.gst.elements.base  # noqa: E402, F401
