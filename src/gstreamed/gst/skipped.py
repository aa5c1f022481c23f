"""A buffer mark for frames the detector skipped (``inference-interval`` > 1).

A GStreamer custom meta named `SKIPPED_META` with no fields: its presence tells
``gstreamed_track`` to predict the tracks of that frame instead of matching detections.

The elements import this module when they first need it: imported while the plugin scanner
loads them (gst-inspect-1.0 with a fresh registry), it made the scanner crash (GStreamer 1.22).
"""

from __future__ import annotations

from gi.repository import Gst

SKIPPED_META = "GstreamedDetectionSkipped"

# Registered on import (imports are serialised; the first calls from several streaming
# threads at once registered it twice, and GLib warned).
if Gst.Meta.get_info(SKIPPED_META) is None:
    Gst.Meta.register_custom(SKIPPED_META, [], None, None)


def mark_skipped(buffer: Gst.Buffer) -> None:
    """Mark a writable buffer as not run through the detector."""
    buffer.add_custom_meta(SKIPPED_META)


def is_skipped(buffer: Gst.Buffer) -> bool:
    """Whether the detector skipped this buffer."""
    return buffer.get_custom_meta(SKIPPED_META) is not None
