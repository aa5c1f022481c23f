"""``gstreamed bench``: forward-only vs end-to-end throughput, per-stage times, batch sizes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gstreamed import defaults
from gstreamed.backends import BACKENDS
from gstreamed.commands.common import add_detection_arguments
from gstreamed.errors import GstreamedError
from gstreamed.track import add_tracker_arguments, tracker_from_args


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
        "--model",
        metavar="PATH",
        help="ONNX model for ort (default: $GSTREAMED_MODEL, else the cached "
        "default); a .safetensors here is used by torch",
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
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="CPU threads for inference (default: the backend's choice)",
    )
    parser.add_argument("--half", action="store_true", help="fp16 for torch on CUDA")
    parser.add_argument(
        "--preset",
        choices=defaults.ENCODER_PRESETS,
        default=defaults.ENCODER_PRESET,
        help=f"x264 speed preset of the pipeline's encoder (default: {defaults.ENCODER_PRESET})",
    )
    parser.add_argument(
        "--no-pipeline",
        action="store_true",
        help="no GStreamer: forward-only and a detector loop on a synthetic "
        "frame (pre/postprocess without decode/encode)",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="write bench.md and bench.json into DIR"
    )
    add_detection_arguments(parser)
    add_tracker_arguments(parser)
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
    models = [resolve_model(args.model)]
    if args.torch_model is not None:
        models.append(resolve_model(args.torch_model))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    tracker_from_args(args)  # bad tracker options fail before anything is measured
    settings = Settings(
        models=models,
        backends=args.backends,
        devices=args.devices,
        frames=args.frames,
        warmup=args.warmup,
        batches=args.batch,
        threads=args.threads,
        half=args.half,
        clip=args.input,
        pipeline=not args.no_pipeline,
        encoder_preset=args.preset,
        detection={
            "conf": args.conf,
            "iou": args.iou,
            "classes": args.classes,
            "max_det": args.max_det,
        },
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
