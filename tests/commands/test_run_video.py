"""``gstreamed VIDEO``: containers and codecs in, H.264/Matroska out with the same frames.

Every check decodes what the CLI wrote with GStreamer, the way a player would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import media
import numpy as np
import pytest
from models import constant_yolo
from servers import background_server, interrupt_after

CliRunner = Callable[..., subprocess.CompletedProcess]

pytestmark = pytest.mark.timeout(120)

PALETTE_1 = np.array((255, 157, 151))  # render.PALETTE[1]: track 1 / class 1 (car)


def copy_into(path: Path, directory: Path, name: str | None = None) -> Path:
    target = directory / (name or path.name)
    shutil.copyfile(path, target)
    return target


@pytest.fixture(scope="module")
def clip_4k(media_dir: Path) -> Path:
    return media.make_video(media_dir / "uhd.mp4", width=3840, height=2160, frames=2)


@pytest.mark.parametrize(
    "kind", ["mp4", "mkv", "webm", "avi", "mov", "mp4+aac", "odd-webm", "odd-avi"]
)
def test_every_container_to_h264_matroska(
    kind: str, clips: dict[str, Path], model: Path, cli: CliRunner, tmp_path: Path
) -> None:
    source = copy_into(clips[kind], tmp_path)
    proc = cli(source, "--model", model, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    output = Path(f"{source}.out.mkv")  # seed naming: clip.mp4 -> clip.mp4.out.mkv
    assert output.is_file(), sorted(p.name for p in tmp_path.iterdir())
    want, got = media.probe(source), media.probe(output)
    assert (got.container, got.video_codec) == ("video/x-matroska", "video/x-h264")
    # 4:2:0 plays everywhere; x264 needs even sizes for it, so odd sizes get 4:4:4.
    odd = want.width % 2 == 1 or want.height % 2 == 1
    assert ("4:4:4" in got.profile) == odd, got.profile
    assert (got.width, got.height, got.frame_rate, got.frames) == (
        want.width,
        want.height,
        want.frame_rate,
        want.frames,
    )
    assert want.frames == 10
    # The input's audio track is kept (re-encoded); files without one get none.
    assert got.audio_streams == want.audio_streams == (1 if kind == "mp4+aac" else 0)


def test_no_audio_leaves_the_track_out(
    clips: dict[str, Path], model: Path, cli: CliRunner, tmp_path: Path
) -> None:
    output = tmp_path / "silent.mkv"
    proc = cli(clips["mp4+aac"], "--model", model, "-o", output, "--no-audio", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    got = media.probe(output)
    assert (got.audio_streams, got.frames) == (0, 10)


def test_4k(clip_4k: Path, model: Path, cli: CliRunner, tmp_path: Path) -> None:
    output = tmp_path / "uhd.mkv"
    proc = cli(clip_4k, "--model", model, "-o", output, "--no-progress", timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = media.probe(output)
    assert (got.video_codec, got.profile, got.width, got.height, got.frames) == (
        "video/x-h264",
        "high",
        3840,
        2160,
        2,
    )


def test_output_path_and_no_overwrite(
    clips: dict[str, Path], model: Path, cli: CliRunner, user_error, tmp_path: Path
) -> None:
    output = tmp_path / "chosen.mkv"
    assert cli(clips["mp4"], "--model", model, "-o", output, "--no-progress").returncode == 0
    assert media.probe(output).frames == 10
    assert not Path(f"{clips['mp4']}.out.mkv").exists()

    output.write_bytes(b"precious bytes")
    proc = cli(clips["mp4"], "--model", model, "-o", output)
    user_error(proc, str(output), "--force")
    assert output.read_bytes() == b"precious bytes"

    proc = cli(clips["mp4"], "--model", model, "-o", output, "--force", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert media.probe(output).frames == 10


@pytest.mark.parametrize(
    ("size", "box"),
    [
        ((320, 240), (110, 80, 210, 160)),  # scale 0.2, pad_y 8
        ((240, 320), (70, 120, 170, 200)),  # scale 0.2, pad_x 8
        ((640, 360), (220, 100, 420, 260)),  # scale 0.1, pad_y 14
    ],
)
def test_box_drawn_at_letterbox_inverse(
    size: tuple[int, int], box: tuple[int, ...], car_model: Path, cli: CliRunner, tmp_path: Path
) -> None:
    width, height = size
    source = media.make_video(tmp_path / "black.mp4", width, height, frames=3, pattern="black")
    output = tmp_path / "boxes.mkv"
    proc = cli(source, "--model", car_model, "-o", output, "--quality", "0", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    frames = media.decode_frames(output)
    assert len(frames) == 3
    x1, y1, x2, y2 = box
    for frame in frames:
        assert frame.shape == (height, width, 3)
        luma = frame.mean(axis=2)
        # The four edges (away from the corners and the label at the top-left) are lit...
        xs = np.arange(x1 + 20, x2 - 5)
        ys = np.arange(y1 + 5, y2 - 5)
        for name, values in [
            ("top", luma[y1, xs]),
            ("bottom", luma[y2, xs]),
            ("left", luma[ys, x1]),
            ("right", luma[ys, x2]),
        ]:
            assert np.median(values) > 80, (name, values)
        # ...with the overlay colour (red channel strongest, as in PALETTE[1]),
        edge = frame[y2, xs].astype(float).mean(axis=0)
        assert edge[0] > edge[1] and edge[0] > edge[2], edge
        # ...while the inside of the box and the frame far from it stay black.
        assert luma[y1 + 4 : y2 - 3, x1 + 4 : x2 - 3].max() < 40
        assert luma[y2 + 4 :, :].max(initial=0) < 40
        assert luma[:, x2 + 4 :].max(initial=0) < 40


def _records(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_json_lines_boxes_tracks_and_mot(
    clips: dict[str, Path], model: Path, cli: CliRunner, tmp_path: Path
) -> None:
    # B-frames: the MP4 edit list starts the first PTS after 0; JSON pts are stream time.
    source = media.make_video(
        tmp_path / "qvga.mp4", 320, 240, frames=8, encoder="x264enc bframes=2 speed-preset=fast"
    )
    jsonl, mot = tmp_path / "dets.jsonl", tmp_path / "tracks.txt"
    proc = cli(
        source,
        "--model",
        model,
        "--json",
        jsonl,
        "--mot",
        mot,
        "--no-output",
        "--no-progress",
        "--tracker",
        "sort",  # a still box stays exact (no camera-motion estimate)
    )
    assert proc.returncode == 0, proc.stderr
    records = _records(jsonl)
    assert [r["frame"] for r in records] == list(range(8))
    # Hand-computed letterbox inverse (320x240 into 64x64: scale 0.2, pad_y 8).
    expected = {
        "car": ([110.0, 80.0, 210.0, 160.0], 0.9, 1),
        "person": ([60.0, 20.0, 100.0, 60.0], 0.8, 0),
    }
    ids: dict[str, set[int]] = {"car": set(), "person": set()}
    for record in records:
        assert record["pts"] == pytest.approx(record["frame"] / 10, abs=1e-3)
        assert len(record["detections"]) == 2
        for det in record["detections"]:
            bbox, conf, class_id = expected[det["class_name"]]
            assert det["bbox"] == pytest.approx(bbox, abs=0.01)
            assert det["confidence"] == pytest.approx(conf, abs=1e-4)
            assert det["class_id"] == class_id
            assert isinstance(det["track_id"], int)
            ids[det["class_name"]].add(det["track_id"])
    assert len(ids["car"]) == len(ids["person"]) == 1 and ids["car"] != ids["person"]

    rows = [line.split(",") for line in mot.read_text().splitlines()]
    assert sorted({int(r[0]) for r in rows}) == list(range(1, 9))  # MOT frames are 1-based
    car_id = ids["car"].pop()
    car = [r for r in rows if int(r[1]) == car_id]
    assert len(car) == 8
    assert [float(v) for v in car[0][2:6]] == pytest.approx([110, 80, 100, 80], abs=0.01)


def test_detect_every_third_frame_tracks_every_frame(
    model: Path, cli: CliRunner, tmp_path: Path
) -> None:
    source = media.make_video(tmp_path / "clip.mp4", 320, 240, frames=8)
    jsonl, mot = tmp_path / "dets.jsonl", tmp_path / "tracks.txt"
    proc = cli(
        source,
        "--model",
        model,
        "--detect-every",
        "3",
        "--json",
        jsonl,
        "--mot",
        mot,
        "--no-output",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    records = _records(jsonl)
    assert len(records) == 8
    for record in records:  # frames 1, 2, 4, 5, 7 are the tracks' predictions
        ids = {d["class_name"]: d["track_id"] for d in record["detections"]}
        assert ids == {"person": 1, "car": 2} or ids == {"person": 2, "car": 1}
    frames = [int(line.split(",")[0]) for line in mot.read_text().splitlines()]
    assert sorted(set(frames)) == list(range(1, 9))


@pytest.mark.parametrize(
    "tracker, seen",
    [
        # ByteTrack's low-score pass: the detector runs down to 0.1; the person (0.8, under
        # --conf) is tracked, so it is reported, with its id
        (["--tracker", "bytetrack"], {"car": True, "person": True}),
        # ...but an untracked detection under --conf is not reported
        (
            ["--tracker", "bytetrack", "--bytetrack-new-track-thresh", "0.95"],
            {"car": False},
        ),
        (["--tracker", "sort"], {"car": True}),  # SORT uses what --conf lets through
    ],
)
def test_low_score_detections_reach_the_tracker(
    model: Path, cli: CliRunner, tmp_path: Path, tracker: list[str], seen: dict[str, bool]
) -> None:
    source = media.make_video(tmp_path / "clip.mp4", 320, 240, frames=4)
    jsonl = tmp_path / "dets.jsonl"
    proc = cli(
        source, "--model", model, "--conf", "0.85", *tracker, "--json", jsonl,
        "--no-output", "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for record in _records(jsonl):
        found = {d["class_name"]: d["track_id"] is not None for d in record["detections"]}
        assert found == seen


def test_json_without_tracking(model: Path, cli: CliRunner, tmp_path: Path) -> None:
    source = media.make_video(tmp_path / "portrait.webm", 240, 320, frames=3)
    jsonl = tmp_path / "dets.jsonl"
    proc = cli(
        source, "--model", model, "--json", jsonl, "--no-track", "--no-output", "--no-progress"
    )
    assert proc.returncode == 0, proc.stderr
    records = _records(jsonl)
    assert len(records) == 3
    for record in records:
        boxes = {d["class_name"]: d["bbox"] for d in record["detections"]}
        assert boxes["car"] == pytest.approx([70, 120, 170, 200], abs=0.01)
        assert boxes["person"] == pytest.approx([20, 60, 60, 100], abs=0.01)
        assert all(d["track_id"] is None for d in record["detections"])


def test_progress_and_timing_table(model: Path, cli: CliRunner, tmp_path: Path) -> None:
    # The audio track outlasts the video: the container's duration overstates the frames.
    source = media.make_video(tmp_path / "long_audio.mp4", audio=True, audio_seconds=3)
    proc = cli(source, "--model", model, "-o", tmp_path / "out.mkv")
    assert proc.returncode == 0, proc.stderr
    progress = [line for line in proc.stderr.splitlines() if line.startswith("frames ")]
    assert progress, proc.stderr
    assert "frames 10/10" in progress[-1] and "fps" in progress[-1]
    assert not any(line.startswith("frames 0") for line in progress), progress
    for stage in ("preprocess", "forward pass", "postprocess", "tracking", "annotation", "FPS"):
        assert stage in proc.stderr


def test_cuda_falls_back_to_cpu_loudly(
    clips: dict[str, Path], model: Path, cli: CliRunner, tmp_path: Path
) -> None:
    proc = cli(
        clips["mp4"], "--model", model, "--cuda", "-o", tmp_path / "out.mkv", "--no-progress"
    )
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "CUDA" in line]
    assert len(warnings) == 1, proc.stderr
    assert "CPU" in warnings[0] and "WARNING" in warnings[0]
    assert media.probe(tmp_path / "out.mkv").frames == 10


@pytest.mark.parametrize(
    "name",
    [
        "x ! filesink location=pwned.mkv",
        'it\'s "quoted" and spaced.mp4',
        "$(touch PWNED).mp4",
        "`touch PWNED` ; rm -rf x.mp4",
    ],
)
def test_file_names_are_never_parsed(
    name: str, clips: dict[str, Path], model: Path, cli: CliRunner, tmp_path: Path
) -> None:
    source = copy_into(clips["mp4"], tmp_path, name)
    proc = cli(name, "--model", model, "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, f"{name}.out.mkv"])
    assert media.probe(Path(f"{source}.out.mkv")).frames == 10


def test_ctrl_c_finishes_a_playable_file(cli_env: dict[str, str], tmp_path: Path) -> None:
    # 1500 frames through a 640x640 model: several seconds, so Ctrl-C lands mid-stream.
    source = media.make_video(tmp_path / "long.mp4", 320, 240, frames=1500, fps=30)
    model = constant_yolo(
        tmp_path / "640.onnx", [(320, 320, 200, 160, 1, 0.9)], imgsz=(640, 640), anchors=8400
    )
    output = tmp_path / "partial.mkv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gstreamed", str(source), "--model", str(model), "-o", str(output)],
        env=cli_env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    rest = interrupt_after(proc, "frames ")
    assert "Traceback" not in rest
    assert "interrupted" in rest
    frames = media.probe(output).frames
    assert 0 < frames < 1500


@pytest.fixture()
def virtual_display() -> Iterator[str]:
    """An Xvfb X server on a free display number; its DISPLAY string."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (./setup.sh test installs it)")
    argv = ["Xvfb", "-displayfd", "1", "-screen", "0", "640x480x24", "-nolisten", "tcp"]
    with background_server(argv, "Xvfb") as number:
        yield f":{number}"


def test_live_window_and_file_together(
    clips: dict[str, Path], model: Path, cli: CliRunner, virtual_display: str, tmp_path: Path
) -> None:
    output = tmp_path / "live.mkv"
    proc = cli(
        clips["mp4"],
        "--model",
        model,
        "--live",
        "-o",
        output,
        "--no-progress",
        env={"DISPLAY": virtual_display},
    )
    assert proc.returncode == 0, proc.stderr
    assert media.probe(output).frames == 10  # the display branch never costs the file a frame
