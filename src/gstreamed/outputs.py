"""What a run writes: the output files of each input, their names and checks, and how
annotated video is encoded."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from gstreamed.errors import GstreamedError
from gstreamed.inputs import Source
from gstreamed.params import ParamSet, param
from gstreamed.results import STDOUT

# x264 for annotated videos: "superfast" measured as fast as "ultrafast" in the pipeline on
# 2 cores (veryfast cost ~5-10 % end-to-end FPS) while keeping CABAC and deblocking.
ENCODER_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
)


# What an annotated output's suffix writes: muxer of H.264 videos, encoder of images. No
# suffix (or a device) writes the default, Matroska or JPEG.
VIDEO_MUXERS = {".mkv": "matroskamux", ".mp4": "mp4mux", ".mov": "qtmux"}
IMAGE_ENCODERS = {".jpg": "jpegenc", ".jpeg": "jpegenc", ".png": "pngenc"}


@dataclass(frozen=True, eq=False)
class EncoderParams(ParamSet):
    """How annotated videos are encoded (H.264 with x264, constant quantizer)."""

    OWNER: ClassVar[str] = "encoder"

    preset: str = param("superfast", "x264 speed preset", choices=ENCODER_PRESETS)
    quality: int = param(23, "x264 quantizer, 0-51, lower is better", minimum=0, maximum=51)


@dataclass
class Outputs:
    """Where results go: annotated video/image, JSON Lines, MOTChallenge, live display."""

    media: Path | None = None
    json: Path | None = None
    mot: Path | None = None
    live: bool = False
    audio: bool = True  # keep the first audio track (re-encoded as Opus) in video outputs
    encoder: EncoderParams = field(default_factory=EncoderParams)
    overwrite: bool = False  # replace existing files when finalised (--force)
    staged: bool = False  # the paths are temporary names already (Ray): written in place
    segment_time: float | None = None  # cut the video into files of about this many seconds
    max_segments: int | None = None  # keep only the newest this many segments

    def segment(self, number: int) -> Path:
        """The name of video segment ``number`` (1-based): ``NAME.out.00001.mkv``."""
        assert self.media is not None
        return self.media.with_name(f"{self.media.stem}.{number:05d}{self.media.suffix}")

    @property
    def files(self) -> list[Path]:
        """The files this run writes."""
        return [p for p in (self.media, self.json, self.mot) if p is not None]


def plan_outputs(
    sources: Sequence[Source],
    media: Path | None = None,
    *,
    no_media: bool = False,
    json: Path | None = None,
    mot: Path | None = None,
    live: bool = False,
    audio: bool = True,
    encoder: EncoderParams | None = None,
    force: bool = False,
) -> list[Outputs]:
    """The outputs of each input (``force``: they replace existing files).

    One input: ``media`` is the annotated file (an existing folder: the default name in it),
    ``json`` and ``mot`` are files. Several inputs: ``media`` and ``mot`` are folders (made
    when missing) holding each input's default-named file (``NAME.txt`` for MOT; names that
    would clash get their parent folders' names in front), and the one ``json`` file holds
    the results of all of them, each object with its ``source``.
    """
    several = len(sources) > 1
    media_dir = media if media is not None and (several or media.is_dir()) else None
    names = _unique_names(sources) if several else [s.default_output.name for s in sources]
    planned = []
    for source, name in zip(sources, names, strict=True):
        if no_media:
            target = None
        elif media_dir is not None:
            target = media_dir / name
        elif media is not None:
            target = media
        else:
            target = source.default_output.with_name(name)
        mot_file = (mot / f"{name.removesuffix('.out.mkv')}.txt") if several and mot else mot
        planned.append(
            Outputs(target, json, mot_file, live, audio, encoder or EncoderParams(), force)
        )
    return planned


def _unique_names(sources: Sequence[Source]) -> list[str]:
    """Default output names, with parent folder names put in front where two would clash."""
    depth = 0
    while True:
        names = []
        for source in sources:
            name = source.default_output.name
            if source.kind == "file" and depth:
                parents = Path(source.location).resolve().parent.parts[-depth:]
                name = "_".join([*parents, name])
            names.append(name)
        if len(set(names)) == len(names) or depth > 32:
            return names
        depth += 1


def check_outputs(planned: Sequence[Outputs], sources: Sequence[Source], force: bool) -> None:
    """Refuse, before anything runs: to overwrite a file without ``force``, to write into a
    missing folder or onto a folder, to write two outputs to one file, or to write onto an
    input (the same file, a hard link or a symbolic link to it, even with ``force``).
    Devices and FIFOs (``/dev/null``, ``/dev/stdout``) are written in place."""
    for outputs, of in zip(planned, sources, strict=True):
        _check_suffix(outputs.media, of.is_image)
        if outputs.segment_time is not None and outputs.media is not None and not of.is_image:
            first = outputs.segment(1)
            if is_special(outputs.media):
                raise GstreamedError(f"{outputs.media}: segments need a file name")
            if first.exists() and not force:
                raise GstreamedError(f"{first} already exists; use --force to overwrite it")
    shared_json = {o.json for o in planned if o.json is not None}
    files = [p for o in planned for p in o.files if p not in shared_json] + sorted(shared_json)
    inputs = [Path(s.location) for s in sources if s.kind == "file"]
    for path in files:
        if path.is_dir():
            raise GstreamedError(f"{path} is a directory; give a file path")
        if not path.parent.is_dir():
            raise GstreamedError(f"output directory does not exist: {path.parent}")
        for source in inputs:
            if path.exists() and os.path.samefile(path, source):
                raise GstreamedError(f"{path} is the input {source}; choose another output")
        if is_special(path):
            continue
        if (path.exists() or path.is_symlink()) and not force:
            raise GstreamedError(f"{path} already exists; use --force to overwrite it")
    if len({p.resolve() for p in files if p != STDOUT}) < len([p for p in files if p != STDOUT]):
        raise GstreamedError("every output (video/image, JSON, MOT) must be a different file")


def _check_suffix(media: Path | None, image: bool) -> None:
    """Refuse an annotated output whose suffix names a format it would not be written in."""
    if media is None or not media.suffix or is_special(media):
        return
    known = IMAGE_ENCODERS if image else VIDEO_MUXERS
    if media.suffix.lower() not in known:
        kind = "an image" if image else "a video"
        raise GstreamedError(
            f"{media}: cannot write {kind} as {media.suffix}; use {', '.join(known)}"
        )


def is_special(path: Path) -> bool:
    """Whether ``path`` is standard output (``-``) or an existing device or FIFO: outputs
    written in place, not through a temporary file."""
    if path == STDOUT:
        return True
    try:
        return not stat.S_ISREG(path.stat().st_mode) and not stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        return False
