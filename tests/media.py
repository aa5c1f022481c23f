"""Media for tests, made and inspected with GStreamer itself.

`make_video` / `make_audio_only` / `make_image` write small files; `probe` and `decode_frames`
read any file back through ``decodebin`` (what a player would see), so tests compare what the
CLI wrote with what it read.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import gi

import gstreamed  # noqa: F401  # before GStreamer, see gstreamed/__init__.py

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstPbutils", "1.0")
gi.require_version("GstVideo", "1.0")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from gi.repository import Gst, GstApp, GstPbutils  # noqa: E402, F401

Gst.init(None)

TIMEOUT_S = 60

# Container → (encoder chain, muxer): every container/codec the CLI must read.
VIDEO_FORMATS: dict[str, tuple[str, str]] = {
    "mp4": ("x264enc speed-preset=ultrafast key-int-max=10", "mp4mux"),
    "mkv": ("vp9enc deadline=1 cpu-used=8", "matroskamux"),
    "webm": ("vp8enc deadline=1", "webmmux"),
    "avi": ("jpegenc", "avimux"),
    "mov": ("x264enc speed-preset=ultrafast", "qtmux"),
}


def run_pipeline(description: str, timeout_s: float = TIMEOUT_S, **locations: Path) -> None:
    """Run a gst-launch style pipeline to EOS, or raise; ``locations`` maps element names to
    file paths, set as properties (never spliced into the description)."""
    pipeline = Gst.parse_launch(description)
    for name, path in locations.items():
        pipeline.get_by_name(name).set_property("location", str(path))
    bus = pipeline.get_bus()
    pipeline.set_state(Gst.State.PLAYING)
    try:
        message = bus.timed_pop_filtered(
            int(timeout_s * Gst.SECOND), Gst.MessageType.EOS | Gst.MessageType.ERROR
        )
        if message is None:
            raise TimeoutError(f"pipeline did not finish in {timeout_s} s: {description}")
        if message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            raise RuntimeError(f"{error.message} ({debug}) in: {description}")
    finally:
        pipeline.set_state(Gst.State.NULL)


def make_video(
    path: Path,
    width: int = 160,
    height: int = 120,
    frames: int = 10,
    fps: int = 10,
    container: str | None = None,
    audio: bool = False,
    pattern: str = "ball",
    encoder: str | None = None,
    audio_seconds: float | None = None,
) -> Path:
    """Write a ``videotestsrc`` clip; the container (and default codec) follows the suffix.

    ``audio`` adds an AAC track as long as the video, or ``audio_seconds`` long.
    """
    kind = container or path.suffix.lstrip(".")
    default_encoder, muxer = VIDEO_FORMATS[kind]
    caps = f"video/x-raw,width={width},height={height},framerate={fps}/1"
    parts = [
        f"videotestsrc num-buffers={frames} pattern={pattern} ! {caps} ! videoconvert ! "
        f"{encoder or default_encoder} ! {muxer} name=mux ! filesink name=out"
    ]
    if audio:
        seconds = frames / fps if audio_seconds is None else audio_seconds
        parts.append(
            f"audiotestsrc num-buffers={int(seconds * 44100) // 1024 + 1} "
            "samplesperbuffer=1024 ! "
            "audio/x-raw,rate=44100,channels=1 ! audioconvert ! voaacenc ! "
            "aacparse ! mux."
        )
    run_pipeline(" ".join(parts), out=path)
    return path


def rotate_mp4(path: Path) -> Path:
    """Mark an MP4's (only) video track as shown turned 90 degrees clockwise, as phones do:
    the track header's matrix, which qtdemux reports as ``image-orientation=rotate-90``."""
    data = bytearray(path.read_bytes())
    tkhd = data.index(b"tkhd") - 4  # the atom's start (size field)
    times = 16 if data[tkhd + 8] == 1 else 4  # version 1 has 64-bit times
    matrix = tkhd + 12 + 3 * times + 4 + 4 + 8 + 8  # after times, id, duration, ...
    values = (0, 1 << 16, 0, 0xFFFF << 16, 0, 0, 0, 0, 1 << 30)
    data[matrix : matrix + 36] = b"".join(v.to_bytes(4, "big") for v in values)
    path.write_bytes(bytes(data))
    return path


def make_audio_only(path: Path) -> Path:
    """An MP4 holding one AAC audio track and no video."""
    run_pipeline(
        "audiotestsrc num-buffers=20 ! audioconvert ! voaacenc ! aacparse ! mp4mux ! "
        "filesink name=out",
        out=path,
    )
    return path


def picture(width: int, height: int, seed: int = 0) -> np.ndarray:
    """An RGB test picture: smooth gradients plus a few coloured blocks."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack(
        [x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), np.full_like(x, 96)], axis=-1
    ).astype(np.uint8)
    for _ in range(3):
        x0, y0 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        image[y0 : y0 + height // 4, x0 : x0 + width // 4] = rng.integers(0, 255, 3)
    return image


def make_image(path: Path, width: int = 160, height: int = 120, mode: str = "rgb") -> Path:
    """Write an image with OpenCV; ``mode`` is rgb, gray, rgba or rgb16 (16 bits a channel)."""
    rgb = picture(width, height)
    if mode == "gray":
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    elif mode == "rgba":
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
        pixels[..., 3] = 200
    elif mode == "rgb16":
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257
    else:
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), pixels):
        raise RuntimeError(f"OpenCV could not write {path}")
    return path


@dataclass(frozen=True)
class MediaInfo:
    """What a player sees in a file: container, video codec, size, rate and frame count."""

    container: str
    video_codec: str
    profile: str  # e.g. "high"; "" when the codec caps carry none
    width: int
    height: int
    frame_rate: Fraction
    frames: int
    audio_streams: int


def discover(path: Path) -> GstPbutils.DiscovererInfo:
    """GstPbutils.Discoverer's report on ``path``."""
    discoverer = GstPbutils.Discoverer.new(30 * Gst.SECOND)
    return discoverer.discover_uri(Gst.filename_to_uri(str(path.resolve())))


def probe(path: Path) -> MediaInfo:
    """Container and stream facts (Discoverer) plus the decoded frame count."""
    info = discover(path)
    container = info.get_stream_info()
    videos = info.get_video_streams()
    assert videos, f"{path}: no video stream"
    video = videos[0]
    caps = video.get_caps().get_structure(0)
    container_caps = (
        container.get_caps().get_structure(0).get_name()
        if isinstance(container, GstPbutils.DiscovererContainerInfo)
        else ""
    )
    return MediaInfo(
        container_caps,
        caps.get_name(),
        caps.get_string("profile") or "",
        video.get_width(),
        video.get_height(),
        Fraction(video.get_framerate_num(), max(1, video.get_framerate_denom())),
        len(decode_frames(path, keep=False)),
        len(info.get_audio_streams()),
    )


def decode_frames(path: Path, keep: bool = True) -> list[np.ndarray | None]:
    """Every frame of ``path`` decoded to RGB (``None`` entries when not ``keep``)."""
    pipeline = Gst.parse_launch(
        "filesrc name=src ! decodebin ! videoconvert ! video/x-raw,format=RGB ! "
        "appsink name=sink sync=false emit-signals=false max-buffers=0"
    )
    pipeline.get_by_name("src").set_property("location", str(path))
    sink = pipeline.get_by_name("sink")
    frames: list[np.ndarray | None] = []
    pipeline.set_state(Gst.State.PLAYING)
    try:
        while True:
            sample = sink.try_pull_sample(TIMEOUT_S * Gst.SECOND)
            if sample is None:
                break
            if not keep:
                frames.append(None)
                continue
            structure = sample.get_caps().get_structure(0)
            width, height = structure.get_value("width"), structure.get_value("height")
            buffer = sample.get_buffer()
            ok, info = buffer.map(Gst.MapFlags.READ)
            assert ok
            try:
                stride = len(info.data) // height
                rows = np.frombuffer(info.data, np.uint8).reshape(height, stride)
                frames.append(rows[:, : width * 3].reshape(height, width, 3).copy())
            finally:
                buffer.unmap(info)
        message = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
        if message is not None:
            raise RuntimeError(f"{path}: {message.parse_error()[0].message}")
        if not sink.props.eos:
            raise RuntimeError(f"{path}: decoding stopped before end-of-stream")
    finally:
        pipeline.set_state(Gst.State.NULL)
    return frames
