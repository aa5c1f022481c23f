"""What the user points at: local files (videos, images), URIs and cameras; folders and glob
patterns that stand for many of them; and the default names of what is written for each."""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

from gstreamed.errors import GstreamedError

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".pnm", ".ppm", ".pgm"}
)
VIDEO_SUFFIXES = frozenset(
    {
        ".mp4", ".m4v", ".mkv", ".webm", ".avi", ".mov", ".ts", ".mts", ".m2ts", ".flv",
        ".wmv", ".mpg", ".mpeg", ".3gp", ".ogv", ".mjpeg", ".h264", ".h265", ".hevc",
    }
)  # fmt: skip
GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Source:
    """One input: a local file, a URI or a camera device; ``given`` is what the user typed."""

    kind: str  # "file", "uri" or "camera"
    location: str
    is_image: bool = False
    given: str = ""

    @property
    def label(self) -> str:
        """The input as the user gave it (for messages and the ``source`` field)."""
        return self.given or self.location

    @property
    def name(self) -> str:
        """A file-name-safe name: the file's name, the URI's last path segment (or host), or
        the camera device's name (``clip.mp4``, ``live``, ``video0``)."""
        if self.kind == "file":
            return Path(self.location).name
        tail = self.location.split("://", 1)[-1].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"[^A-Za-z0-9._-]+", "_", tail) or "stream"

    @property
    def default_output(self) -> Path:
        """The seed's naming: ``clip.mp4`` → ``clip.mp4.out.mkv``, ``a.jpg`` → ``a.out.jpg``.

        Streams, cameras and pipes (a FIFO, ``/dev/stdin``) write into the current
        directory, named after the URI's last path segment (or host) or the device:
        ``rtsp://cam/live`` → ``live.out.mkv``.
        """
        if (
            self.kind != "file"
            or self.location.startswith(("/dev/", "/proc/"))
            or (os.path.exists(self.location) and not os.path.isfile(self.location))
        ):
            return Path(f"{self.name}.out.mkv")
        path = Path(self.location)
        return path.with_suffix(".out.jpg") if self.is_image else Path(f"{path}.out.mkv")


def is_media_file(path: Path) -> bool:
    """Whether a file's suffix says it is a video or an image."""
    return path.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES


def expand(items: list[str]) -> list[str]:
    """The inputs ``items`` stand for: a folder gives the videos and images in it (sorted,
    recursively), a glob pattern its matches; URIs, cameras and files stay as given."""
    found: list[str] = []
    for item in items:
        path = Path(item)
        if "://" in item or item.startswith("/dev/"):
            found.append(item)
        elif path.is_dir():
            media = sorted(str(p) for p in path.rglob("*") if p.is_file() and is_media_file(p))
            if not media:
                raise GstreamedError(f"{item}: no video or image files in this folder")
            found.extend(media)
        elif not path.exists() and GLOB_CHARS & set(item):
            matches = sorted(m for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if not matches:
                raise GstreamedError(f"{item}: no file matches this pattern")
            found.extend(matches)
        else:
            found.append(item)
    return list(dict.fromkeys(found))  # each input once, in order
