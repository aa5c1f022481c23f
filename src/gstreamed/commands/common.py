"""Options shared by several commands: model, backend, device and detection thresholds."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gstreamed import defaults
from gstreamed.backends import BACKENDS, Backend, load_backend
from gstreamed.backends.zoo import resolve_model
from gstreamed.detect.detector import Detector
from gstreamed.errors import GstreamedError
from gstreamed.timing import Timings

log = logging.getLogger(__name__)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --backend, --device/--cuda, --half, --threads."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        metavar="PATH",
        help=f"YOLO detection model (.onnx; .safetensors with --backend torch). "
        f"Default: ${defaults.MODEL_ENV}, else the cached default model",
    )
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default="ort",
        help="inference backend (default: ort = ONNX Runtime)",
    )
    group.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    group.add_argument("--cuda", action="store_true", help="same as --device cuda")
    group.add_argument("--half", action="store_true", help="fp16 inference (torch on CUDA)")
    group.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="CPU threads for inference (default: the backend's choice)",
    )


def add_detection_arguments(parser: argparse.ArgumentParser) -> None:
    """--conf, --iou, --classes, --max-det."""
    group = parser.add_argument_group("detection")
    group.add_argument(
        "--conf",
        type=float,
        default=defaults.CONF_THRESHOLD,
        help=f"confidence threshold (default: {defaults.CONF_THRESHOLD})",
    )
    group.add_argument(
        "--iou",
        type=float,
        default=defaults.IOU_THRESHOLD,
        help=f"NMS IoU threshold (default: {defaults.IOU_THRESHOLD})",
    )
    group.add_argument(
        "--classes",
        default=None,
        metavar="NAMES",
        help="keep only these classes, e.g. person,car (names or ids)",
    )
    group.add_argument(
        "--max-det",
        type=int,
        default=defaults.MAX_DETECTIONS,
        help=f"maximum detections per frame (default: {defaults.MAX_DETECTIONS})",
    )


def device_of(args: argparse.Namespace) -> str:
    """The device chosen by --device / --cuda."""
    return "cuda" if args.cuda and args.device == "cpu" else args.device


def backend_from_args(args: argparse.Namespace, model: str | Path | None = None) -> Backend:
    """Load the backend the options name (model resolved through the zoo)."""
    path = resolve_model(model if model is not None else args.model)
    options: dict[str, object] = {}
    if args.threads:
        options["threads"] = args.threads
    if args.half:
        if args.backend != "torch":
            raise GstreamedError(
                "--half needs --backend torch (export an fp16 ONNX with "
                "'gstreamed export --half' for ort)"
            )
        options["half"] = True
    return load_backend(path, args.backend, device_of(args), **options)


def detector_from_args(args: argparse.Namespace, timings: Timings | None = None) -> Detector:
    """A `Detector` configured by the model and detection options."""
    return Detector(
        backend_from_args(args),
        conf=args.conf,
        iou=args.iou,
        classes=args.classes,
        max_det=args.max_det,
        timings=timings,
    )
