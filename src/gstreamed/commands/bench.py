"""``gstreamed bench``: forward-only vs end-to-end throughput, per-stage times, batch sizes."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from gstreamed.backends import BACKENDS
from gstreamed.commands.options import (
    add_batch_options,
    add_detection_options,
    add_encoder_options,
    add_model_options,
    add_tracker_options,
    batch_params,
    detection_params,
    encoder_params,
    model_params,
    param_arguments,
    tracker_from_args,
)
from gstreamed.errors import GstreamedError


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("values must be positive integers")
    return values


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "bench",
        help="measure forward-only and end-to-end pipeline throughput",
        description="For every backend × device: forward-pass-only FPS (tight loop on a fixed "
        "tensor), the real pipeline's end-to-end FPS (decode → detect → track → "
        "overlay → x264 → file) on the same clip with the same backend, their "
        "ratio (pipeline efficiency), per-stage median/p90 times and forward time "
        "per frame by batch size. Prints Markdown; --out writes bench.md and "
        "bench.json.",
    )
    parser.add_argument(
        "--torch-model",
        type=Path,
        metavar="PATH",
        help="YOLOv8 .safetensors weights for the torch backend",
    )
    parser.add_argument(
        "--input",
        type=Path,
        metavar="CLIP",
        help="video to run the pipeline on (default: a generated 1280x720 30 fps clip)",
    )
    parser.add_argument(
        "--backends",
        type=_names,
        default=list(BACKENDS),
        help=f"comma-separated backends (default: {','.join(BACKENDS)})",
    )
    parser.add_argument(
        "--devices",
        type=_names,
        default=["cpu", "cuda"],
        help="comma-separated devices (default: cpu,cuda)",
    )
    parser.add_argument(
        "--frames", type=int, default=100, help="frames measured after warm-up (default: 100)"
    )
    parser.add_argument(
        "--warmup", type=int, default=10, help="frames run before measuring (default: 10)"
    )
    parser.add_argument(
        "--batch",
        type=_int_list,
        default=[1],
        metavar="1,4,8",
        help="batch sizes for the forward-only per-frame times (default: 1)",
    )
    add_encoder_options(parser, only=("preset",))
    parser.add_argument(
        "--no-pipeline",
        action="store_true",
        help="no GStreamer: forward-only and a detector loop on a synthetic "
        "frame (pre/postprocess without decode/encode)",
    )
    parser.add_argument(
        "--streams",
        type=int,
        metavar="N",
        help="instead: N concurrent streams of the clip in one process (one shared, batched "
        "model) vs N separate processes vs forward-only at the batch size used, with peak "
        "memory (first backend and device only)",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="write bench.md and bench.json into DIR"
    )
    add_model_options(parser, only=("model", "threads", "half"))
    add_batch_options(parser, only=("batch_timeout", "nireq"))  # --batch is bench's own
    add_detection_options(parser)
    add_tracker_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gstreamed.backends.zoo import resolve_model
    from gstreamed.bench import Settings, efficiency_lines, run_bench

    if args.frames < 2 or args.warmup < 0:
        raise GstreamedError("--frames must be at least 2 and --warmup at least 0")
    unknown = [b for b in args.backends if b not in BACKENDS]
    if unknown:
        raise GstreamedError(
            f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(BACKENDS)}"
        )
    if args.input is not None and not args.input.is_file():
        raise GstreamedError(f"input not found: {args.input}")
    model = model_params(args)
    models = [resolve_model(model.model)]
    if args.torch_model is not None:
        models.append(resolve_model(args.torch_model))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    tracker_from_args(args)  # bad tracker options fail before anything is measured
    if args.streams is not None:
        return _streams(args, models[0])
    settings = Settings(
        models=models,
        backends=args.backends,
        devices=args.devices,
        frames=args.frames,
        warmup=args.warmup,
        batches=args.batch,
        threads=model.threads or None,
        half=model.half,
        clip=args.input,
        pipeline=not args.no_pipeline,
        encoder=encoder_params(args),
        detection=detection_params(args).values(),
    )
    report = run_bench(
        settings,
        lambda rate: tracker_from_args(args, rate),
        echo=lambda line: print(line, file=sys.stderr, flush=True),
    )
    markdown = report.to_markdown()
    print(markdown)
    for line in efficiency_lines(report):
        print(line.replace("**", ""), file=sys.stderr)
    if args.out is not None:
        (args.out / "bench.md").write_text(markdown)
        (args.out / "bench.json").write_text(report.to_json() + "\n")
        print(f"wrote {args.out / 'bench.md'}, {args.out / 'bench.json'}", file=sys.stderr)
    return 0


def _streams(args: argparse.Namespace, model: Path) -> int:
    """``bench --streams N``: see `gstreamed.bench.streams`."""
    from gstreamed.bench.measure import forward_throughput
    from gstreamed.bench.streams import bench_streams
    from gstreamed.detect.batching import requests_for, share_cores
    from gstreamed.detect.detector import load_detector
    from gstreamed.gst.runner import Runner, make_inputs
    from gstreamed.gst.samples import write_test_clip

    if args.streams < 1:
        raise GstreamedError("--streams must be at least 1")
    backend, device = args.backends[0], args.devices[0]
    model_options = model_params(args)
    detector = load_detector(
        model,
        backend=backend,
        device=device,
        threads=model_options.threads,
        half=model_options.half,
        **detection_params(args).values(),
    )
    cli_options = ["--model", str(model), "--backend", backend, "--device", device]
    cli_options += ["--preset", encoder_params(args).preset]
    if model_options.threads:
        cli_options += ["--threads", str(model_options.threads)]
    batching = batch_params(args)
    cli_options += param_arguments(batching)

    def run_in_process(clips: list[Path]) -> tuple[int, float, dict[int, int]]:
        inputs = make_inputs([str(c) for c in clips], no_media=True)
        summary = Runner(
            inputs,
            detector,
            batching=batching,
            make_tracker=lambda rate: tracker_from_args(args, rate),
            progress=False,
        ).run()
        return summary.frames, summary.seconds, dict(summary.batch_sizes)

    # As the in-process run's shared model: passes in flight, each on its share of the cores.
    requests = requests_for(detector.backend, batching.nireq, args.streams)

    def forward_fps(batch: int) -> float | None:
        if batch > detector.backend.max_batch:
            return None
        share_cores(detector.backend, requests)
        calls = max(3, args.frames // batch)
        warmup = max(1, args.warmup // batch)
        return forward_throughput(detector.backend, batch, requests, calls, warmup)

    with tempfile.TemporaryDirectory(prefix="gstreamed-bench-") as tmp:
        clip = args.input or write_test_clip(Path(tmp) / "bench-1280x720.mp4", args.frames)
        print(f"bench: {args.streams} streams of {clip} ...", file=sys.stderr, flush=True)
        result = bench_streams(
            args.streams, clip, cli_options, run_in_process, forward_fps, requests
        )
    markdown = result.to_markdown()
    print(markdown)
    if args.out is not None:
        (args.out / "streams.md").write_text(markdown)
        (args.out / "streams.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        print(f"wrote {args.out / 'streams.md'}, {args.out / 'streams.json'}", file=sys.stderr)
    return 0
