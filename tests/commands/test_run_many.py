"""Several inputs in one run: one process, one shared (batched) model, per-input trackers
and outputs, failures and Ctrl-C confined to what they hit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import media
import pytest
from models import CAR, PERSON, brightness_yolo, constant_yolo
from servers import http_server_that_stops, interrupt_after

from gstreamed.cores import cpu_cores
from gstreamed.detect.batching import SharedDetector, acquire, release
from gstreamed.detect.detector import load_detector
from gstreamed.gst import Gst, init
from gstreamed.gst.runner import Runner, make_inputs

CliRunner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three clips that differ in size, rate, length and brightness; one has audio."""
    folder = tmp_path_factory.mktemp("streams")
    return {
        "white": media.make_video(folder / "white.mkv", 160, 120, 12, 10, pattern="white"),
        "black": media.make_video(
            folder / "black.mp4", 96, 64, 20, 15, pattern="black", audio=True
        ),
        "red": media.make_video(folder / "red.webm", 128, 96, 8, 5, pattern="red"),
    }


@pytest.fixture(scope="module")
def moving_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Car and person whose boxes sit further right the brighter the frame (static batch)."""
    return brightness_yolo(tmp_path_factory.mktemp("models") / "moving.onnx", [CAR, PERSON], 32)


@pytest.fixture(scope="module")
def moving_batch_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same model with a dynamic batch dimension: frames of several streams per pass."""
    return brightness_yolo(
        tmp_path_factory.mktemp("models") / "moving-batch.onnx", [CAR, PERSON], 32, dynamic=True
    )


def _by_source(path: Path) -> dict[str, list[dict]]:
    """JSON Lines objects grouped by their ``source`` field (without it), in file order."""
    grouped: dict[str, list[dict]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        grouped.setdefault(record.pop("source"), []).append(record)
    return grouped


def _alone(cli: CliRunner, source: Path, model: Path, folder: Path) -> list[dict]:
    """The JSON Lines objects of ``source`` run on its own."""
    results = folder / f"{source.name}.jsonl"
    proc = cli(source, "--model", model, "--json", results, "--no-output", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in results.read_text().splitlines()]


def _batch_counts(stderr: str) -> dict[int, int]:
    """The ``forward passes by batch size`` line of a run: {frames per pass: passes}."""
    line = next(s for s in stderr.splitlines() if s.startswith("forward passes by batch size"))
    return {int(size): int(n) for size, n in re.findall(r"(\d+) x (\d+)", line)}


def test_every_input_gets_its_own_outputs_and_tracker(
    cli: CliRunner, streams: dict[str, Path], moving_model: Path, tmp_path: Path
) -> None:
    out, results, mot = tmp_path / "out", tmp_path / "all.jsonl", tmp_path / "mot"
    inputs = [streams["white"], streams["black"], streams["red"]]
    proc = cli(*inputs, "--model", moving_model, "-o", out, "--json", results, "--mot", mot)
    assert proc.returncode == 0, proc.stderr
    assert "total" in proc.stderr  # progress: a line per input plus a total line

    for source in inputs:
        written, original = media.probe(out / f"{source.name}.out.mkv"), media.probe(source)
        assert (written.width, written.height) == (original.width, original.height)
        assert written.frame_rate == original.frame_rate
        assert written.frames == original.frames
        assert written.audio_streams == original.audio_streams
    assert sorted(p.name for p in mot.iterdir()) == sorted(f"{s.name}.txt" for s in inputs)

    grouped = _by_source(results)
    assert sorted(grouped) == sorted(str(s) for s in inputs)
    lefts = {}
    for source in inputs:
        records = grouped[str(source)]
        # Exactly what the input gets alone: same frames, boxes, classes and track ids.
        assert records == _alone(cli, source, moving_model, tmp_path)
        assert [r["frame"] for r in records] == list(range(media.probe(source).frames))
        lefts[source.name] = {d["bbox"][0] for r in records for d in r["detections"]}
    # The streams' boxes really differ, so one shared tracker would have mixed their ids.
    assert all(not lefts[a] & lefts[b] for a in lefts for b in lefts if a != b), lefts


def test_frames_of_several_streams_share_forward_passes(
    cli: CliRunner, streams: dict[str, Path], moving_batch_model: Path, tmp_path: Path
) -> None:
    # Same length, so all three streams stay open together; one request at a time and a
    # long timeout fill every batch.
    clips = [
        media.make_video(tmp_path / f"{p}.mkv", 96, 64, 10, 10, pattern=p)
        for p in ("white", "black", "red")
    ]
    results = tmp_path / "all.jsonl"
    proc = cli(
        *clips,
        "--model",
        moving_batch_model,
        "--json",
        results,
        "--no-output",
        "--batch-timeout",
        "5000",
        "--nireq",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    counts = _batch_counts(proc.stderr)
    assert sum(size * n for size, n in counts.items()) == 30
    assert counts.get(3, 0) >= 8, counts  # true batches of one frame per stream
    grouped = _by_source(results)
    for clip in clips:  # each frame's output went back to its own stream
        assert grouped[str(clip)] == _alone(cli, clip, moving_batch_model, tmp_path)


def test_a_static_batch_model_runs_frame_by_frame(
    cli: CliRunner, streams: dict[str, Path], moving_model: Path, tmp_path: Path
) -> None:
    results = tmp_path / "static.jsonl"
    proc = cli(
        streams["white"], streams["red"], "--model", moving_model, "--no-output", "--json", results
    )
    assert proc.returncode == 0, proc.stderr
    assert _batch_counts(proc.stderr) == {1: 20}


def test_a_model_whose_batch_is_not_really_dynamic_fails_every_stream_at_once(
    cli: CliRunner, streams: dict[str, Path], tmp_path: Path
) -> None:
    # Dynamic batch dimension declared, one output whatever the batch: once froze every stream.
    liar = constant_yolo(tmp_path / "liar.onnx", [CAR, PERSON], dynamic=True)
    clips = [
        media.make_video(tmp_path / f"{p}.mkv", 96, 64, 10, 10, pattern=p) for p in ("white", "red")
    ]
    options = ("--no-output", "--batch-timeout", "5000", "--nireq", "1")  # batches of two
    proc = cli(*clips, "--model", liar, *options, timeout=60)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 2 and all("not really dynamic" in line for line in errors), errors


@pytest.fixture()
def dying_stream(tmp_path: Path) -> Iterator[str]:
    """The URL of a 60-frame clip whose server stops a third of the way in."""
    clip = media.make_video(tmp_path / "dies.mkv", 160, 120, 60, 10)
    with http_server_that_stops(clip, 1 / 3) as url:
        yield url


def test_failing_inputs_do_not_stop_the_others(
    cli: CliRunner, streams: dict[str, Path], model: Path, dying_stream: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    missing = tmp_path / "missing.mp4"
    proc = cli(streams["white"], missing, dying_stream, streams["red"], "--model", model, "-o", out)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("gstreamed: error:")]
    assert len(errors) == 2, proc.stderr
    assert str(missing) in errors[0] and dying_stream in errors[1]
    for good in ("white", "red"):
        written = media.probe(out / f"{streams[good].name}.out.mkv")
        assert written.frames == media.probe(streams[good]).frames
    salvaged = out / "dies.mkv.out.mkv"  # what the dying stream delivered is finalised
    assert 0 < media.probe(salvaged).frames < 60


def test_ctrl_c_finalises_every_output(
    cli_env: dict[str, str], model: Path, tmp_path: Path
) -> None:
    clips = [media.make_video(tmp_path / f"long{i}.mkv", 160, 120, 3000, 30) for i in (1, 2)]
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gstreamed",
            *map(str, clips),
            "--model",
            str(model),
            "-o",
            str(out),
        ],
        env=cli_env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    rest = interrupt_after(proc, "total")
    assert "Traceback" not in rest and "interrupted" in rest
    for clip in clips:
        assert 0 < media.probe(out / f"{clip.name}.out.mkv").frames < 3000


def test_elements_naming_one_model_instance_batch_together(moving_batch_model: Path) -> None:
    init()
    branch = (
        "videotestsrc num-buffers=12 pattern={} ! video/x-raw,width=96,height=64 ! "
        "videoconvert ! video/x-raw,format=RGB ! gstreamed_detect model={} "
        "model-instance-id=wall batch-size=2 batch-timeout=5000 nireq=1 ! fakesink"
    )
    pipeline = Gst.parse_launch(
        " ".join(branch.format(p, moving_batch_model) for p in ("white", "black"))
    )
    # Holding the instance first lets the test read its batch sizes afterwards.
    shared = acquire("wall", lambda: SharedDetector(load_detector(moving_batch_model), 2, 5000, 1))
    try:
        pipeline.set_state(Gst.State.PLAYING)
        message = pipeline.get_bus().timed_pop_filtered(
            60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR
        )
        assert message is not None and message.type == Gst.MessageType.EOS
    finally:
        pipeline.set_state(Gst.State.NULL)
        release("wall")
    assert shared.batch_sizes == {2: 12}


def test_detect_every_k_frames_and_track_between(
    cli: CliRunner, streams: dict[str, Path], model: Path, tmp_path: Path
) -> None:
    results = tmp_path / "every3.jsonl"
    source = streams["white"]  # 12 frames: the detector runs on frames 0, 3, 6 and 9
    proc = cli(source, "--model", model, "--detect-every", "3", "--json", results, "--no-output")
    assert proc.returncode == 0, proc.stderr
    assert _batch_counts(proc.stderr) == {1: 4}
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(12))
    ids = set()
    for record in records[1:]:  # boxes on every frame, the predicted ones included
        tracked = [d for d in record["detections"] if d["track_id"] is not None]
        assert len(tracked) == 2, record
        ids |= {d["track_id"] for d in tracked}
    assert len(ids) == 2  # the same two tracks throughout


@pytest.mark.parametrize("count", [1, 3])
def test_streams_encoding_at_once_share_the_cores(
    streams: dict[str, Path], model: Path, tmp_path: Path, count: int
) -> None:
    clips = [str(streams[name]) for name in ("white", "black", "red")[:count]]
    media_out = tmp_path / ("out" if count > 1 else "one.mkv")
    inputs = make_inputs(clips, media_out)
    runner = Runner(inputs, load_detector(model), progress=False)
    with runner.prepared() as (_shared, pipelines, _results):
        threads = {
            p.pipeline.get_by_name("encoder").get_property("threads") for p in pipelines.values()
        }
    # x264's own choice (0) for one stream; with three, each its share of the cores.
    assert threads == {0 if count == 1 else max(1, cpu_cores() // count)}
