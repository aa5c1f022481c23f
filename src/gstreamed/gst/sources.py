"""Checking an input before a pipeline reads it: `classify` makes its `Source`."""

from __future__ import annotations

import os
from pathlib import Path

from gstreamed.errors import GstreamedError
from gstreamed.gst import Gst
from gstreamed.inputs import IMAGE_SUFFIXES, Source

# Image formats decodebin decodes wrongly, read with the GdkPixbuf decoder instead:
# avdec_bmp / avdec_tiff fail on a lone image ("No valid frames decoded"), and pngdec
# (1.22) labels 16-bit RGB as ARGB64, which shifts the channels.
PIXBUF_IMAGES = ("image/bmp", "image/tiff", "image/png")


def classify(target: str, given: str = "") -> Source:
    """Decide how to read ``target``; checks local files before any pipeline starts.

    ``given`` is the input as the user typed it (default: ``target``)."""
    given = given or target
    if "://" in target:
        if not Gst.Uri.is_valid(target):
            raise GstreamedError(f"not a valid URI: {target}")
        if Gst.Uri.get_protocol(target) == "appsrc":
            raise GstreamedError(
                f"{target}: appsrc:// is fed from inside an application; give a file, URI or camera"
            )
        if target.startswith("file://"):
            return classify(Gst.Uri.get_location(target) or "", given)
        if not Gst.Uri.protocol_is_supported(Gst.URIType.SRC, Gst.Uri.get_protocol(target)):
            raise GstreamedError(
                f"no GStreamer source handles {Gst.Uri.get_protocol(target)}://"
                " URIs on this machine"
            )
        return Source("uri", target, given=given)
    if target.startswith("/dev/video"):
        if not os.path.exists(target):
            raise GstreamedError(f"camera not found: {target}")
        return Source("camera", target, given=given)
    path = Path(target)
    if not path.exists():
        raise GstreamedError(f"input not found: {target}")
    if path.is_dir():
        raise GstreamedError(f"input is a directory, not a file: {target}")
    if path.is_file() and path.stat().st_size == 0:  # a FIFO or /dev/stdin streams
        raise GstreamedError(f"input is empty (0 bytes): {target}")
    if not os.access(path, os.R_OK):
        raise GstreamedError(f"input is not readable: {target}")
    return Source("file", str(path), path.suffix.lower() in IMAGE_SUFFIXES, given)
