"""``gstreamed track DET -o OUT``: track MOTChallenge detections (det.txt) into results."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from gstreamed.commands.options import add_tracker_options, tracker_from_args
from gstreamed.detect.detections import NO_TRACK
from gstreamed.errors import GstreamedError
from gstreamed.tables import print_table
from gstreamed.track.mot import find_sequences, read_mot, read_seqinfo, write_results

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One det.txt to track into one results file."""

    name: str
    detections: Path
    output: Path
    seqinfo: Path
    images: Path  # img1/: the frames (000001.jpg, ...), used when present and wanted


def _frames(images: Path, count: int) -> Iterator[np.ndarray | None]:
    """The RGB frames 1..count of an ``img1/`` folder (MOT naming); None when there is none."""
    if not images.is_dir():
        yield from (None for _ in range(count))
        return
    for number in range(1, count + 1):
        path = images / f"{number:06d}.jpg"
        if not path.is_file():
            raise GstreamedError(f"{path}: missing (every frame needs an image in {images})")
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise GstreamedError(f"{path}: not an image")
        yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while results pile up: they hold no cycles, and its
    passes over thousands of new objects were 3 % of a SORT run."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "track",
        help="track MOTChallenge detections (det.txt) into MOT results",
        description="Track the boxes of a MOTChallenge det.txt and write MOT results "
        "(frame,id,x,y,w,h,conf,-1,-1,-1). Given a directory in MOT layout "
        "(SEQ/det/det.txt, SEQ/seqinfo.ini), tracks every sequence into OUT/SEQ.txt. A "
        "tracker with camera-motion compensation (botsort) reads the frames from SEQ/img1/ "
        "(000001.jpg, ...) when there is one.",
    )
    parser.add_argument("input", type=Path, help="det.txt, or a directory of MOT sequences")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="results file (for a det.txt) or directory (for sequences)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing results")
    add_tracker_options(parser)
    parser.set_defaults(func=run)


def _jobs(source: Path, output: Path) -> list[Job]:
    if source.is_file():
        if output.is_dir():
            raise GstreamedError(f"{output} is a directory; give a results file path")
        seq = source.parent.parent
        return [Job(source.stem, source, output, seq / "seqinfo.ini", seq / "img1")]
    if output.exists() and not output.is_dir():
        raise GstreamedError(
            f"{output} is a file; give a directory for the results of the sequences in {source}"
        )
    return [
        Job(
            name, seq / "det" / "det.txt", output / f"{name}.txt", seq / "seqinfo.ini", seq / "img1"
        )
        for name, seq in find_sequences(source, "det/det.txt")
    ]


def run(args: argparse.Namespace) -> int:
    """Track each sequence; prints one summary row per sequence."""
    if not args.input.exists():
        raise GstreamedError(f"{args.input}: no such file or directory")
    jobs = _jobs(args.input, args.output)
    if not args.force:
        for job in jobs:
            if job.output.exists():
                raise GstreamedError(f"{job.output} already exists; use --force to overwrite it")
    rows = []
    for job in jobs:
        start = time.perf_counter()  # frames/s: reading, tracking and writing
        table = read_mot(job.detections)
        info = read_seqinfo(job.seqinfo, job.name)
        frames = table.per_frame(info.length)
        tracker = tracker_from_args(args, info.frame_rate)
        with _collector_paused():
            if tracker.uses_frames:
                images = zip(frames, _frames(job.images, len(frames)), strict=True)
                results = [tracker.update(f, image) for f, image in images]
            else:
                results = [tracker.update(f) for f in frames]
        written = write_results(job.output, results)
        seconds = time.perf_counter() - start
        ids = np.concatenate([r.track_id for r in results] or [np.zeros(0, np.int64)])
        tracks = len(np.unique(ids[ids != NO_TRACK]))
        log.info("%s: %d frames, %d tracks -> %s", job.name, len(frames), tracks, job.output)
        rows.append(
            (
                job.name,
                str(len(frames)),
                str(len(table)),
                str(tracks),
                str(written),
                f"{len(frames) / seconds:,.0f}" if seconds > 0 else "-",
            )
        )
    print_table(
        ("sequence", "frames", "detections", "tracks", "rows written", "frames/s"),
        rows,
        f"tracking ({args.tracker})",
    )
    return 0
