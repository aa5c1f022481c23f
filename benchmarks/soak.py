"""Soak run: a live RTSP camera through the whole CLI pipeline for minutes or hours.

    .venv/bin/python benchmarks/soak.py --model ../shared/models/yolov8n-coco-f32.onnx \\
        --minutes 10 --out soak/

Starts the test camera (``tests/rtsp_server.py``: live 320x240 15 fps H.264 over RTSP on
127.0.0.1) and ``gstreamed rtsp://... --segment-time 1m --max-segments 5 --json`` with
tracking, and every ``--every`` seconds samples the run's resident memory, open file
descriptors, threads and frames processed (JSON lines) into ``soak.csv``. Every
``--outage-every`` seconds the camera is stopped for ``--outage`` seconds and restarted on
the same port, so the run reconnects. At the end the run gets SIGINT and must exit 130
with its outputs finalised; ``soak.png`` plots the samples (matplotlib, when installed).
Every segment is decoded once it is complete (the next one has begun) and the kept ones
again at the end; ``segments.csv`` lists each with its decoded frame count. The last line
judges the run against the bars of docs/reliability.md: resident memory growth after the
first 5 minutes, frame-rate drift (minutes 5-15 against the last 10), file descriptors.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "rtsp_server.py"
WARM_UP_S = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def camera(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, str(SERVER), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == str(port)
    return server


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=10)


def proc_status(pid: int) -> tuple[float, int, int]:
    """Resident memory (MiB), open file descriptors and threads of ``pid``."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    rss = int(fields["VmRSS"].split()[0]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd")), int(fields["Threads"])


def frames_written(out: Path) -> int:
    """JSON lines written so far (the file is under its temporary name until the end)."""
    files = list(out.glob(".soak.jsonl.*.partial")) or [out / "soak.jsonl"]
    return sum(p.read_bytes().count(b"\n") for p in files if p.exists())


def segments(out: Path) -> list[Path]:
    """The recorded segments still on disk, oldest first."""
    return sorted(out.glob("soak.0*.mkv"))


def check_segments(paths: list[Path], checked: dict[str, int]) -> None:
    """Decode every segment of ``paths`` not yet in ``checked``; -1 marks one that failed."""
    from media import decode_frames  # tests/media.py: decodebin, what a player sees

    for path in paths:
        if path.name in checked:
            continue
        try:
            checked[path.name] = len(decode_frames(path, keep=False))
        except (RuntimeError, AssertionError) as error:
            print(f"{path.name}: not playable: {error}", flush=True)
            checked[path.name] = -1


def verdict(rows: list[dict[str, float]], checked: dict[str, int]) -> str:
    """The soak bars: RSS growth after warm-up, FPS drift, fd growth, playable segments."""
    steady = [r for r in rows if r["seconds"] >= WARM_UP_S] or rows
    growth = max(r["rss_mib"] for r in steady) - steady[0]["rss_mib"]
    first = [r["fps"] for r in steady if r["seconds"] < WARM_UP_S + 600]
    last = [r["fps"] for r in steady if r["seconds"] > steady[-1]["seconds"] - 600]
    drift = abs(sum(last) / len(last) / (sum(first) / len(first)) - 1)
    fds = max(r["fds"] for r in steady) - steady[0]["fds"]
    bad = [name for name, frames in checked.items() if frames <= 0]
    return (
        f"after {WARM_UP_S / 60:.0f} min: RSS growth {growth:.1f} MiB (bar 20), "
        f"FPS drift {100 * drift:.1f}% (bar 5; {sum(first) / len(first):.2f} -> "
        f"{sum(last) / len(last):.2f}), fd growth {fds}; segments decoded {len(checked)}, "
        f"not playable {bad or 'none'}"
    )


def plot(rows: list[dict[str, float]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    minutes = [r["seconds"] / 60 for r in rows]
    figure, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    for axis, key, label in zip(
        axes,
        ("rss_mib", "fps", "fds"),
        ("resident memory (MiB)", "frames/s (10 s window)", "open fds"),
        strict=True,
    ):
        axis.plot(minutes, [r[key] for r in rows], marker=".")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[-1].set_xlabel("minutes")
    figure.suptitle("gstreamed soak: live RTSP, tracking, 1 min segments, JSON")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=os.environ.get("GSTREAMED_MODEL"))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=10.0, help="sample period, seconds")
    parser.add_argument("--outage-every", type=float, default=180.0, help="0: no outages")
    parser.add_argument("--outage", type=float, default=5.0, help="outage length, seconds")
    parser.add_argument("--out", type=Path, default=Path("soak"))
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.model is None:
        parser.error("give --model or set GSTREAMED_MODEL")
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = camera(port)
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gstreamed",
            f"rtsp://127.0.0.1:{port}/cam",
            "--model",
            str(args.model),
            "-o",
            str(args.out / "soak.mkv"),
            "--force",
            "--segment-time",
            "1m",
            "--max-segments",
            "5",
            "--json",
            str(args.out / "soak.jsonl"),
            "--no-progress",
        ],
        stderr=(args.out / "soak.log").open("w"),
    )
    rows: list[dict[str, float]] = []
    started = time.monotonic()
    next_outage = args.outage_every or float("inf")
    last_frames, last_time = 0, started
    checked: dict[str, int] = {}
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        while (now := time.monotonic()) - started < args.minutes * 60 and run.poll() is None:
            if now - started >= next_outage:
                stop(server)
                time.sleep(args.outage)
                server = camera(port)
                next_outage += args.outage_every
            time.sleep(max(0.0, args.every - (time.monotonic() - now)))
            now = time.monotonic()
            rss, fds, threads = proc_status(run.pid)
            frames = frames_written(args.out)
            rows.append(
                {
                    "seconds": round(now - started, 1),
                    "rss_mib": round(rss, 1),
                    "fds": fds,
                    "threads": threads,
                    "frames": frames,
                    "fps": round((frames - last_frames) / (now - last_time), 2),
                }
            )
            last_frames, last_time = frames, now
            print(rows[-1], flush=True)
            check_segments(segments(args.out)[:-1], checked)  # the newest is being written
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)
        status = run.wait(timeout=60)
        stop(server)
    check_segments(segments(args.out), checked)
    with (args.out / "segments.csv").open("w") as file:
        file.write("segment,decoded_frames\n")
        file.writelines(f"{name},{frames}\n" for name, frames in sorted(checked.items()))
    with (args.out / "soak.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plotted = plot(rows, args.out / "soak.png")
    steady = rows[len(rows) // 5 :]  # after warm-up
    rss = [r["rss_mib"] for r in rows]
    print(
        f"exit status {status}; {rows[-1]['seconds'] / 60:.1f} min; frames {rows[-1]['frames']}; "
        f"RSS {rss[0]} -> {rss[-1]} MiB (max {max(rss)}, "
        f"steady {min(r['rss_mib'] for r in steady)}..{max(r['rss_mib'] for r in steady)}); "
        f"fds {rows[0]['fds']} -> {rows[-1]['fds']} (max {max(r['fds'] for r in rows)}); "
        f"threads {rows[0]['threads']} -> {rows[-1]['threads']}; "
        f"segments kept {[p.name for p in segments(args.out)]}"
        + ("" if plotted else "; no plot (pip install matplotlib)")
    )
    print(verdict(rows, checked))
    return 0 if status == 130 else 1


if __name__ == "__main__":
    sys.exit(main())
