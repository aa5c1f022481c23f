"""Throughput of `gstreamed --ray` against one process, on generated clips (docs/scaling.md).

    .venv/bin/python benchmarks/ray_scaling.py [--clips 8] [--frames 300] [--size 640x360]
        [--model PATH] [--repeat 2]

Without --model it uses the tests' constant model (tests/models.py: 64x64, known boxes), so
the pipeline (decode, convert, track, overlay, x264) rather than inference sets the pace.
Each configuration runs the CLI end to end; the table gives its wall time, the frames/s over
the processing (cluster start-up excluded for Ray) and the start-up itself. "overhead" rows run
one-frame clips: their time per input is what scheduling and building a pipeline cost.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def make_clips(folder: Path, count: int, frames: int, size: str) -> list[Path]:
    width, height = size.split("x")
    clips = []
    for i in range(count):
        path = folder / f"clip{i}.mp4"
        subprocess.run(
            [
                "gst-launch-1.0", "-q", "videotestsrc", f"num-buffers={frames}", "pattern=ball",
                "!", f"video/x-raw,width={width},height={height},framerate=30/1", "!",
                "videoconvert", "!", "x264enc", "speed-preset=ultrafast", "!", "mp4mux", "!",
                "filesink", f"location={path}",
            ],
            check=True,
        )  # fmt: skip
        clips.append(path)
    return clips


def run(clips: list[Path], model: Path, out: Path, extra: list[str]) -> dict[str, float]:
    """One CLI run: wall seconds, processing seconds and frames, Ray start-up seconds."""
    out.mkdir()
    command = [sys.executable, "-m", "gstreamed", *map(str, clips), "--model", str(model)]
    command += ["-o", str(out), "--no-progress", *extra]
    began = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{proc.stderr}")
    wall = time.perf_counter() - began
    frames, seconds = re.search(r"(\d+) frames in ([\d.]+) s", proc.stderr).groups()  # type: ignore[union-attr]
    ready = re.search(r"ready in ([\d.]+) s; \d+ input\(s\) in ([\d.]+) s", proc.stderr)
    startup = float(ready.group(1)) if ready else 0.0
    processing = float(ready.group(2)) if ready else float(seconds)
    return {"wall": wall, "frames": int(frames), "seconds": processing, "startup": startup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = args.model
        if model is None:
            from models import constant_yolo

            model = constant_yolo(folder / "two.onnx", [(32, 32, 20, 16, 1, 0.9)])
        clips = make_clips(folder, args.clips, args.frames, args.size)
        (folder / "tiny").mkdir()
        tiny = make_clips(folder / "tiny", args.clips, 1, args.size)
        configs = [
            ("one process", clips, []),
            ("--ray, 1 worker", clips, ["--ray", "--workers", "1"]),
            ("--ray, 2 workers", clips, ["--ray", "--workers", "2"]),
            (
                "--ray, 2 workers x 4 streams",
                clips,
                ["--ray", "--workers", "2", "--streams-per-worker", "4"],
            ),
            (
                "--ray, 4 workers x 0.5 CPU",
                clips,
                ["--ray", "--workers", "4", "--worker-cpus", "0.5"],
            ),
            ("overhead: one process", tiny, []),
            ("overhead: --ray, 2 workers", tiny, ["--ray", "--workers", "2"]),
        ]
        print(f"{args.clips} clips x {args.frames} frames {args.size}; model {model.name}")
        print(f"{'configuration':28} {'wall s':>7} {'start s':>8} {'work s':>7} {'fps':>7}")
        for repeat in range(args.repeat):
            for n, (name, inputs, extra) in enumerate(configs):
                r = run(inputs, model, folder / f"out{repeat}-{n}", extra)
                fps = r["frames"] / r["seconds"] if r["seconds"] else 0.0
                print(
                    f"{name:28} {r['wall']:7.2f} {r['startup']:8.2f} "
                    f"{r['seconds']:7.2f} {fps:7.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
