"""Runs on a real local Ray cluster (2 CPUs): outputs equal a single-process run's, a killed
worker's input is retried to a complete output, a corrupt input fails alone, and Ctrl-C
finalises what runs and leaves no Ray process behind.

The API tests share one cluster started by this module (`process_files` uses the connection
of a process that called ``ray.init``); the CLI tests start their own with ``--ray``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import media
import psutil
import pytest
from models import CAR, PERSON, brightness_yolo

import gstreamed

os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
ray = pytest.importorskip("ray")

CLIPS = 4
FRAMES = 30
LONG_FRAMES = 900  # long enough to kill a worker in the middle of it


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray cluster of 2 CPUs in this process, for the module's API tests."""
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def short_clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("short")
    return [
        media.make_video(folder / f"clip{i}.mp4", frames=FRAMES + i, pattern="ball")
        for i in range(CLIPS)
    ]


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("long")
    return [
        media.make_video(folder / f"long{i}.mp4", frames=LONG_FRAMES, pattern="ball")
        for i in range(2)
    ]


def records(path: Path) -> dict[str, list[dict]]:
    """The JSON Lines records of each source, in frame order."""
    by_source: dict[str, list[dict]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        by_source.setdefault(record.pop("source"), []).append(record)
    return {source: sorted(r, key=lambda r: r["frame"]) for source, r in by_source.items()}


def outputs_of(folder: Path, clips: list[Path]) -> dict[str, object]:
    """What a user checks: decoded frames of each video, the JSON boxes, the MOT tracks."""
    return {
        "frames": [media.probe(folder / f"{c.name}.out.mkv").frames for c in clips],
        "json": records(folder / "all.jsonl"),
        "mot": [(folder / "mot" / f"{c.name}.txt").read_text() for c in clips],
        "left": sorted(p.name for p in folder.rglob("*.partial")),
    }


def run_both(clips: list[Path], model: Path, tmp_path: Path, **ray_options: object) -> tuple:
    """The same inputs in this process and on the cluster: (results, outputs) of each."""
    runs = []
    for name, options in (("single", {}), ("ray", ray_options)):
        folder = tmp_path / name
        (folder / "mot").mkdir(parents=True)
        results = gstreamed.process_files(
            clips,
            folder,
            json=folder / "all.jsonl",
            mot=folder / "mot",
            model=model,
            tracker="sort",
            **options,
        )
        runs.append((results, outputs_of(folder, clips)))
    return runs


def test_outputs_equal_a_single_process_run(
    cluster: None, short_clips: list[Path], model: Path, tmp_path: Path
):
    (single, single_out), (clustered, cluster_out) = run_both(
        short_clips, model, tmp_path, ray="local"
    )
    assert [r.frames for r in clustered] == [FRAMES + i for i in range(CLIPS)]
    assert all(r.ok and not r.interrupted for r in clustered)
    assert [r.frames for r in clustered] == [r.frames for r in single]
    assert cluster_out == single_out
    assert cluster_out["frames"] == [FRAMES + i for i in range(CLIPS)]
    assert cluster_out["left"] == []
    assert clustered[0].timings.summary()  # the workers' stage timings, merged


def test_inputs_of_one_task_share_the_worker_model_in_batches(
    short_clips: list[Path], tmp_path: Path, cli: Callable[..., subprocess.CompletedProcess]
):
    dynamic = brightness_yolo(tmp_path / "dynamic.onnx", [CAR, PERSON], 32, dynamic=True)
    runs = {}
    for name, extra in (("single", []), ("ray", ["--ray", "--streams-per-worker", "2"])):
        json_path = tmp_path / f"{name}.jsonl"
        proc = cli(
            *short_clips, "--model", dynamic, "--no-output", "--tracker", "sort",
            "--json", json_path, "--batch-timeout", "5000", "--nireq", "1", *extra, timeout=180,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        passes = re.search(r"forward passes by batch size \(frames x passes\): (.*)", proc.stderr)
        assert passes is not None, proc.stderr
        runs[name] = (records(json_path), passes.group(1))
    assert runs["ray"][0] == runs["single"][0]  # every frame's boxes and ids, per input
    pairs = dict(re.findall(r"(\d+) x (\d+)", runs["ray"][1]))
    assert int(pairs.get("2", 0)) >= 2 * FRAMES - 2, runs["ray"][1]  # two streams a pass


def _worker_playing(clips: list[Path], folder: Path) -> psutil.Process:
    """A Ray worker process of this test that is in the middle of a clip: it has the clip
    open and has written part of its output."""
    deadline = time.monotonic() + 60
    names = {str(c) for c in clips}
    while time.monotonic() < deadline:
        partial = [p for p in folder.glob(".*.mkv.*.partial") if p.stat().st_size > 20_000]
        for process in psutil.Process().children(recursive=True):
            try:
                playing = names & {f.path for f in process.open_files()}
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if playing and partial:
                return process
        time.sleep(0.05)
    raise AssertionError("no worker was seen playing a clip")


def test_a_corrupt_input_fails_alone(
    cluster: None, short_clips: list[Path], model: Path, tmp_path: Path
):
    bad = tmp_path / "bad.mp4"
    # Fixed bytes, the same corrupt file every run. (Such files once hung this test: decodebin
    # can swallow the demuxer's error; see tests/gst/test_damaged_files.py.)
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + random.Random(7).randbytes(4000))
    results = gstreamed.process_files(
        [short_clips[0], bad, short_clips[1]], tmp_path, model=model, ray="local"
    )
    assert [r.ok for r in results] == [True, False, True]
    assert "bad.mp4" in (results[1].error or "") and "\n" not in (results[1].error or "")
    assert [r.frames for r in results] == [FRAMES, 0, FRAMES + 1]
    assert not (tmp_path / "bad.mp4.out.mkv").exists()
    assert media.probe(tmp_path / f"{short_clips[1].name}.out.mkv").frames == FRAMES + 1


def test_a_killed_worker_is_retried_and_its_output_is_complete(
    cluster: None, long_clips: list[Path], model: Path, tmp_path: Path
):
    folder = tmp_path / "out"
    folder.mkdir()
    done: list[list] = []
    run = threading.Thread(
        target=lambda: done.append(
            gstreamed.process_files(
                long_clips, folder, json=folder / "all.jsonl", model=model, ray="local"
            )
        )
    )
    run.start()
    worker = _worker_playing(long_clips, folder)
    assert worker.cmdline()[0].startswith("ray::play_inputs")  # a Ray worker running a task
    worker.kill()
    run.join(timeout=240)
    assert done, "the run did not end"
    (results,) = done
    assert not worker.is_running()
    assert all(r.ok for r in results), [r.error for r in results]
    assert [r.frames for r in results] == [LONG_FRAMES] * len(long_clips)
    for clip in long_clips:
        assert media.probe(folder / f"{clip.name}.out.mkv").frames == LONG_FRAMES
    frames = {s: [r["frame"] for r in rs] for s, rs in records(folder / "all.jsonl").items()}
    assert frames == {str(c): list(range(LONG_FRAMES)) for c in long_clips}
    assert not list(folder.glob("*.partial")) and not list(folder.glob(".*.partial"))


# --- the CLI: its own local cluster per run --------------------------------------------------


def ray_processes(root: psutil.Process) -> list[psutil.Process]:
    """The live processes under ``root`` (the cluster's raylet, GCS server, workers)."""
    return [p for p in root.children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]


def still_alive(processes: list[psutil.Process]) -> list[str]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{process.pid} {process.name()}")
        except psutil.NoSuchProcess:
            pass
    return alive


def test_cli_reports_a_corrupt_input_and_exits_non_zero(
    short_clips: list[Path],
    model: Path,
    tmp_path: Path,
    cli: Callable[..., subprocess.CompletedProcess],
    user_error: Callable[..., str],
):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(random.Random(8).randbytes(3000))
    out = tmp_path / "out"
    proc = cli(
        short_clips[0],
        bad,
        short_clips[2],
        "--model",
        model,
        "-o",
        out,
        "--ray",
        "--workers",
        "2",
        "--json",
        out / "all.jsonl",
        timeout=180,
    )
    user_error(proc, "broken.mp4")
    assert proc.returncode == 1
    assert "ray: local cluster (1 node) ready in" in proc.stderr
    assert "inputs 3/3 ended" in proc.stderr  # the cluster's total progress line
    assert media.probe(out / f"{short_clips[0].name}.out.mkv").frames == FRAMES
    assert media.probe(out / f"{short_clips[2].name}.out.mkv").frames == FRAMES + 2
    assert sorted(len(r) for r in records(out / "all.jsonl").values()) == [FRAMES, FRAMES + 2]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["all.jsonl", f"{short_clips[0].name}.out.mkv", f"{short_clips[2].name}.out.mkv"]
    )


def test_ctrl_c_finalises_running_inputs_and_stops_the_cluster(
    long_clips: list[Path], model: Path, tmp_path: Path, cli_env: dict[str, str]
):
    out = tmp_path / "out"
    third = tmp_path / "third.mp4"  # waits for a worker: never started
    third.symlink_to(long_clips[0])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gstreamed",
            *map(str, [*long_clips, third]),
            "--model",
            str(model),
            "-o",
            str(out),
            "--ray",
            "--no-progress",
        ],
        env=cli_env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _worker_playing(long_clips, out)
        processes = ray_processes(psutil.Process(proc.pid))
        assert any(p.name() == "raylet" for p in processes)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGINT, stderr
    assert "Traceback" not in stderr
    assert still_alive(processes) == []
    written = sorted(out.glob("*.out.mkv"))
    assert [p.name for p in written] == sorted(f"{c.name}.out.mkv" for c in long_clips)
    for path in written:  # finalised: playable, with the frames done before the stop
        assert 0 < media.probe(path).frames <= LONG_FRAMES
    assert not (out / "third.mp4.out.mkv").exists()
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
    assert "stopped" in stderr


def test_without_ray_installed_one_line_says_how_to_install_it(
    short_clips: list[Path],
    model: Path,
    tmp_path: Path,
    cli_env: dict[str, str],
    user_error: Callable[..., str],
):
    code = "import sys; sys.modules['ray'] = None; from gstreamed.cli import main; sys.exit(main())"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(short_clips[0]),
            "--model",
            str(model),
            "-o",
            str(tmp_path / "x.mkv"),
            "--ray",
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    user_error(proc, "pip install 'gstreamed[ray]'")
    assert not (tmp_path / "x.mkv").exists()


def test_cluster_options_are_checked_before_anything_starts(
    short_clips: list[Path],
    model: Path,
    tmp_path: Path,
    cli: Callable[..., subprocess.CompletedProcess],
    user_error: Callable[..., str],
):
    base = [short_clips[0], "--model", model, "-o", tmp_path / "x.mkv", "--ray"]
    user_error(cli(*base, "--workers", "0"), "--workers", ">= 1")
    user_error(cli(*base, "--live"), "--live", "--ray")
    user_error(cli(*base[:-1], "--ray", "127.0.0.1:1"), "cannot reach the Ray cluster")
    user_error(cli(*base[:-1], "--ray", short_clips[1]), "not a Ray cluster address")
    assert not (tmp_path / "x.mkv").exists()
