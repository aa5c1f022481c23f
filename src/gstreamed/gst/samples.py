"""A sample clip made on the spot: photos a package ships, moving across a drawn street.

Used by ``gstreamed demo`` so the main job runs anywhere without downloading media. The
photos come from scikit-image's bundled data (astronaut = person, chelsea = cat,
motorcycle); without it, plain coloured shapes move instead.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from gstreamed.errors import GstreamedError
from gstreamed.gst import Gst
from gstreamed.gst.build import make, mp4_pipeline
from gstreamed.gst.bus import play

log = logging.getLogger(__name__)

SPRITE_FILES = ("astronaut.png", "chelsea.png", "motorcycle_left.png")


@dataclass
class Sprite:
    """An RGB picture moving at constant velocity, bouncing off the frame edges."""

    image: np.ndarray
    x: float
    y: float
    vx: float
    vy: float

    def step(self, width: int, height: int) -> None:
        h, w = self.image.shape[:2]
        self.x += self.vx
        self.y += self.vy
        if not 0 <= self.x <= width - w:
            self.vx = -self.vx
            self.x = min(max(self.x, 0), width - w)
        if not 0 <= self.y <= height - h:
            self.vy = -self.vy
            self.y = min(max(self.y, 0), height - h)


def _sprite_images(height: int) -> list[np.ndarray]:
    """The sample photos scaled to about a third of the frame height (RGB)."""
    spec = importlib.util.find_spec("skimage")
    folder = (
        Path(spec.submodule_search_locations[0]) / "data"
        if spec and spec.submodule_search_locations
        else None
    )
    images = []
    for name in SPRITE_FILES:
        bgr = cv2.imread(str(folder / name)) if folder else None
        if bgr is None:
            continue
        scale = height * 0.38 / bgr.shape[0]
        images.append(
            cv2.cvtColor(
                cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA),
                cv2.COLOR_BGR2RGB,
            )
        )
    if not images:
        log.warning(
            "scikit-image's sample photos are not installed; the demo clip shows "
            "plain shapes, which a COCO model will not detect (pip install '.[demo]')"
        )
        side = height // 4
        for color in ((220, 60, 60), (60, 160, 220), (240, 200, 40)):
            images.append(np.full((side, side, 3), color, np.uint8))
    return images


def _background(width: int, height: int) -> np.ndarray:
    """A grey street with lane markings."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = np.linspace(150, 90, height, dtype=np.uint8)[:, None, None]
    for x in range(0, width, width // 8):
        cv2.rectangle(
            frame,
            (x, height * 3 // 4),
            (x + width // 16, height * 3 // 4 + 6),
            (235, 235, 235),
            cv2.FILLED,
        )
    return frame


def frames(width: int, height: int, count: int) -> list[np.ndarray]:
    """``count`` RGB frames of sprites crossing (and occluding) each other."""
    images = _sprite_images(height)
    rng = np.random.default_rng(7)
    sprites = []
    for index, image in enumerate(images):
        h, w = image.shape[:2]
        x = (width - w) * (index / max(1, len(images) - 1))
        y = (height - h) * rng.uniform(0.1, 0.9)
        speed = width / 120
        sprites.append(
            Sprite(
                image, x, y, speed * (1 if index % 2 == 0 else -1), speed * rng.uniform(-0.3, 0.3)
            )
        )
    background = _background(width, height)
    out = []
    for _ in range(count):
        frame = background.copy()
        for sprite in sprites:
            h, w = sprite.image.shape[:2]
            x, y = int(sprite.x), int(sprite.y)
            frame[y : y + h, x : x + w] = sprite.image
            sprite.step(width, height)
        out.append(frame)
    return out


def write_clip(
    path: Path, width: int = 960, height: int = 540, fps: int = 25, seconds: float = 6.0
) -> Path:
    """Encode the sample scene as H.264 in MP4 through a GStreamer pipeline."""
    pictures = frames(width, height, int(fps * seconds))
    caps = Gst.Caps.from_string(
        f"video/x-raw,format=RGB,width={width},height={height},framerate={fps}/1"
    )
    source = make("appsrc", "frames", caps=caps, format=Gst.Format.TIME, block=True)
    pipeline = mp4_pipeline(path, source, keyframe_every=fps)
    pipeline.set_state(Gst.State.PLAYING)
    for index, picture in enumerate(pictures):
        buffer = Gst.Buffer.new_wrapped(picture.tobytes())
        buffer.pts = index * Gst.SECOND // fps
        buffer.duration = Gst.SECOND // fps
        if source.emit("push-buffer", buffer) != Gst.FlowReturn.OK:
            raise GstreamedError("could not write the sample clip")
    source.emit("end-of-stream")
    play(pipeline, str(path))
    return path


def write_test_clip(
    path: Path, frames: int, size: tuple[int, int] = (1280, 720), fps: int = 30
) -> Path:
    """Write an H.264 MP4 test clip (videotestsrc's moving ball) of ``frames`` frames."""
    width, height = size
    caps = Gst.Caps.from_string(
        f"video/x-raw,format=I420,width={width},height={height},framerate={fps}/1"
    )
    source = make("videotestsrc", num_buffers=frames)
    Gst.util_set_object_arg(source, "pattern", "ball")
    play(mp4_pipeline(path, source, make("capsfilter", caps=caps), keyframe_every=fps), str(path))
    return path
