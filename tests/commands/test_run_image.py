"""``gstreamed IMAGE``: every image format and pixel layout → ``IMAGE.out.jpg`` of the same size."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import cv2
import media
import numpy as np
import pytest

pytestmark = pytest.mark.timeout(60)

CliRunner = Callable[..., subprocess.CompletedProcess]

# 160x120 into the 64x64 models: scale 0.4, pad_y 8.
CAR_BOX = [55.0, 40.0, 105.0, 80.0]
PERSON_BOX = [30.0, 10.0, 50.0, 30.0]


@pytest.mark.parametrize("kind", ["jpg", "png", "bmp", "webp", "tiff", "gray", "rgba", "rgb16"])
def test_image_to_annotated_jpeg(
    kind: str, images: dict[str, Path], model: Path, cli: CliRunner, tmp_path: Path
) -> None:
    source = tmp_path / images[kind].name
    shutil.copyfile(images[kind], source)
    jsonl = tmp_path / "dets.jsonl"
    proc = cli(source, "--model", model, "--json", jsonl)
    assert proc.returncode == 0, proc.stderr
    output = source.with_suffix(".out.jpg")  # seed naming: a.png -> a.out.jpg
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [source.name, output.name, jsonl.name]
    )
    assert "frames " not in proc.stderr  # no progress line for one image
    written = cv2.cvtColor(cv2.imread(str(output), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert written.shape == (120, 160, 3)
    # Away from the boxes the picture is the input (same orientation and channel order).
    expected = media.picture(160, 120)
    if kind == "gray":
        expected = np.repeat(cv2.cvtColor(expected, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    region = np.s_[85:, :]
    assert np.abs(written[region].astype(int) - expected[region]).mean() < 8

    (record,) = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert record["frame"] == 0 and record["pts"] is None
    boxes = {d["class_name"]: d for d in record["detections"]}
    assert boxes["car"]["bbox"] == pytest.approx(CAR_BOX, abs=0.01)
    assert boxes["person"]["bbox"] == pytest.approx(PERSON_BOX, abs=0.01)
    assert all(d["track_id"] is None for d in record["detections"])  # no tracking on images


def test_image_output_path_and_no_overwrite(
    images: dict[str, Path], model: Path, cli: CliRunner, user_error, tmp_path: Path
) -> None:
    output = tmp_path / "annotated.jpg"
    assert cli(images["png"], "--model", model, "-o", output).returncode == 0
    assert cv2.imread(str(output)).shape == (120, 160, 3)
    before = output.read_bytes()
    user_error(cli(images["png"], "--model", model, "-o", output), "--force")
    assert output.read_bytes() == before


def test_mot_needs_a_video(
    images: dict[str, Path], model: Path, cli: CliRunner, user_error, tmp_path: Path
) -> None:
    proc = cli(
        images["jpg"], "--model", model, "--mot", tmp_path / "t.txt", "-o", tmp_path / "o.jpg"
    )
    user_error(proc, "--mot")
    assert not list(tmp_path.iterdir())
