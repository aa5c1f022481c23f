"""What a run writes: the output files and how annotated video is encoded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from gstreamed.errors import GstreamedError
from gstreamed.params import ParamSet, param

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

    @property
    def files(self) -> list[Path]:
        """The files this run writes."""
        return [p for p in (self.media, self.json, self.mot) if p is not None]

    def check(self, force: bool) -> None:
        """Refuse, before anything runs, to overwrite a file without ``force``, to write into a
        missing directory or onto a directory, or to write two outputs to one file."""
        for path in self.files:
            if path.exists() and not force:
                raise GstreamedError(f"{path} already exists; use --force to overwrite it")
            if path.is_dir():
                raise GstreamedError(f"{path} is a directory; give a file path")
            if not path.parent.exists():
                raise GstreamedError(f"output directory does not exist: {path.parent}")
        if len({p.resolve() for p in self.files}) < len(self.files):
            raise GstreamedError("the video/image, JSON and MOT outputs must be different files")
