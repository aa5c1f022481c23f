"""Pictures taken sideways: a JPEG's EXIF orientation and a video's rotation matrix turn the
frames upright before detection, so outputs and boxes are those of the upright picture."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import media
import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.timeout(60)


def boxes(results: Path) -> list[list[list[float]]]:
    return [
        [d["bbox"] for d in json.loads(line)["detections"]]
        for line in results.read_text().splitlines()
    ]


def test_exif_rotated_jpeg_is_processed_upright(model: Path, cli, tmp_path: Path) -> None:
    stored = media.picture(160, 120)  # the sensor's landscape pixels
    sideways = Image.fromarray(stored)
    exif = sideways.getexif()
    exif[0x0112] = 6  # EXIF orientation 6: show turned 90 degrees clockwise
    sideways.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    upright = np.ascontiguousarray(np.rot90(stored, k=-1))  # 120 wide, 160 tall
    Image.fromarray(upright).save(tmp_path / "upright.jpg", quality=95)
    for name in ("phone", "upright"):
        proc = cli(
            tmp_path / f"{name}.jpg",
            "--model",
            model,
            "--json",
            tmp_path / f"{name}.jsonl",
        )
        assert proc.returncode == 0, proc.stderr
    phone, reference = (cv2.imread(str(tmp_path / f"{n}.out.jpg")) for n in ("phone", "upright"))
    assert phone.shape == reference.shape == (160, 120, 3)
    assert boxes(tmp_path / "phone.jsonl") == boxes(tmp_path / "upright.jsonl")
    assert np.abs(phone.astype(int) - reference.astype(int)).mean() < 4  # same picture


def test_rotated_video_is_processed_upright(model: Path, cli, tmp_path: Path) -> None:
    rotated = media.rotate_mp4(media.make_video(tmp_path / "phone.mp4", 160, 120, pattern="smpte"))
    portrait = media.make_video(tmp_path / "portrait.mp4", 120, 160)
    for clip in (rotated, portrait):
        # SORT: its boxes follow the detections alone (BoT-SORT's camera-motion estimate
        # would see the two clips' different pictures).
        jsonl = tmp_path / f"{clip.stem}.jsonl"
        proc = cli(clip, "--model", model, "--json", jsonl, "--tracker", "sort")
        assert proc.returncode == 0, proc.stderr
    got = media.probe(tmp_path / "phone.mp4.out.mkv")
    assert (got.width, got.height, got.frames) == (120, 160, 10)
    assert boxes(tmp_path / "phone.jsonl") == boxes(tmp_path / "portrait.jsonl")
    source = media.decode_frames(rotated)[0]  # decoded as stored: 160 x 120
    output = media.decode_frames(tmp_path / "phone.mp4.out.mkv")[0]
    assert source is not None and output is not None
    turned = np.rot90(source, k=-1)
    corner = (slice(0, 8), slice(0, 8))  # away from the drawn boxes
    assert np.abs(output[corner].astype(int) - turned[corner].astype(int)).mean() < 12
    assert np.abs(output[corner].astype(int) - source[corner].astype(int)).mean() > 12
