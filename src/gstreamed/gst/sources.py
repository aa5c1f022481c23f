"""What the user points at: local files (videos, images), URIs and cameras."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from gstreamed.errors import GstreamedError
from gstreamed.gst import Gst

IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".webp",
    ".tif",
    ".tiff",
    ".gif",
    ".pnm",
    ".ppm",
    ".pgm",
}

# Image formats decodebin decodes wrongly, read with the GdkPixbuf decoder instead:
# avdec_bmp / avdec_tiff fail on a lone image ("No valid frames decoded"), and pngdec
# (1.22) labels 16-bit RGB as ARGB64, which shifts the channels.
PIXBUF_IMAGES = ("image/bmp", "image/tiff", "image/png")


@dataclass(frozen=True)
class Source:
    """What the user pointed at: a local file, a URI or a camera device."""

    kind: str  # "file", "uri" or "camera"
    location: str
    is_image: bool = False

    @property
    def default_output(self) -> Path:
        """The seed's naming: ``clip.mp4`` → ``clip.mp4.out.mkv``, ``a.jpg`` → ``a.out.jpg``.

        Streams and cameras write into the current directory, named after the URI's last
        path segment (or host) or the device: ``rtsp://cam/live`` → ``live.out.mkv``.
        """
        if self.kind != "file":
            uri_path = self.location.split("://", 1)[-1].split("?", 1)[0].rstrip("/")
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", uri_path.rsplit("/", 1)[-1]) or "stream"
            return Path(f"{stem}.out.mkv")
        path = Path(self.location)
        return path.with_suffix(".out.jpg") if self.is_image else Path(f"{path}.out.mkv")


def classify(target: str) -> Source:
    """Decide how to read ``target``; checks local files before any pipeline starts."""
    if "://" in target:
        if not Gst.Uri.is_valid(target):
            raise GstreamedError(f"not a valid URI: {target}")
        if target.startswith("file://"):
            return classify(Gst.Uri.get_location(target) or "")
        if not Gst.Uri.protocol_is_supported(Gst.URIType.SRC, Gst.Uri.get_protocol(target)):
            raise GstreamedError(
                f"no GStreamer source handles {Gst.Uri.get_protocol(target)}://"
                " URIs on this machine"
            )
        return Source("uri", target)
    if target.startswith("/dev/video"):
        if not os.path.exists(target):
            raise GstreamedError(f"camera not found: {target}")
        return Source("camera", target)
    path = Path(target)
    if not path.exists():
        raise GstreamedError(f"input not found: {target}")
    if path.is_dir():
        raise GstreamedError(f"input is a directory, not a file: {target}")
    if path.stat().st_size == 0:
        raise GstreamedError(f"input is empty (0 bytes): {target}")
    if not os.access(path, os.R_OK):
        raise GstreamedError(f"input is not readable: {target}")
    return Source("file", str(path), path.suffix.lower() in IMAGE_SUFFIXES)
