"""``gstreamed export WEIGHTS.safetensors -o MODEL.onnx``: YOLOv8 weights to ONNX."""

from __future__ import annotations

import argparse
from pathlib import Path

from gstreamed.errors import GstreamedError


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help="export YOLOv8 .safetensors weights to ONNX",
        description="Write an ONNX model (input 'images', output 'output0' [B, 4+C, A], "
        "Ultralytics metadata) from YOLOv8 detection weights in .safetensors "
        "(Ultralytics or candle tensor names), for the ort backend.",
    )
    parser.add_argument("weights", type=Path, help="YOLOv8 detection weights (.safetensors)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="ONNX file to write (default: WEIGHTS with suffix .onnx)",
    )
    parser.add_argument(
        "--imgsz",
        type=_imgsz,
        default=None,
        metavar="N|H,W",
        help="input size, multiples of 32 (default: the weights' metadata, else 640)",
    )
    parser.add_argument("--dynamic", action="store_true", help="dynamic batch, height and width")
    parser.add_argument(
        "--half",
        action="store_true",
        help="float16 weights, input and output (for GPU execution providers)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.set_defaults(func=run)


def _imgsz(text: str) -> int | tuple[int, int]:
    """``640`` or ``480,640`` (height, width)."""
    parts = text.replace("x", ",").split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give N or H,W") from None
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise argparse.ArgumentTypeError(f"{text!r}: give N or H,W")


def run(args: argparse.Namespace) -> int:
    from gstreamed.backends.export import export_onnx

    output = args.output or args.weights.with_suffix(".onnx")
    if output.resolve() == args.weights.resolve():
        raise GstreamedError(f"{output}: the output would replace the weights; pass -o MODEL.onnx")
    path = export_onnx(
        args.weights,
        output,
        imgsz=args.imgsz,
        dynamic=args.dynamic,
        half=args.half,
        force=args.force,
    )
    print(path)
    return 0
