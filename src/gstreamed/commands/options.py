"""Command-line options generated from the parameter tables, and the objects built from them.

Every option of a `gstreamed.params.ParamSet` field is ``--<prefix><name>`` (``--max-det``,
``--sort-max-age``) with the table's type, default, bounds and help; values are checked by
the table itself, whose errors the CLI words with the option (see `option_error`).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from gstreamed.cluster import ClusterParams
from gstreamed.detect.batching import BatchParams
from gstreamed.detect.detector import Detector
from gstreamed.detect.params import DetectionParams, ModelParams
from gstreamed.outputs import EncoderParams
from gstreamed.params import Param, ParamError, ParamSet
from gstreamed.timing import Timings
from gstreamed.track import DEFAULT_TRACKER, TRACKERS, Tracker, create_tracker

log = logging.getLogger(__name__)

METAVARS = {"model": "PATH", "imgsz": "N|H,W", "classes": "NAMES"}


def _dest(table: type[ParamSet], param: Param) -> str:
    return (table.PREFIX + param.name).replace("-", "_")


def add_param_options(
    group: argparse._ActionsContainer,
    table: type[ParamSet],
    *,
    only: tuple[str, ...] = (),
    unset_default: bool = False,
) -> None:
    """One option per parameter of ``table`` (or of those named in ``only``).

    With ``unset_default`` an option left out is ``None`` (so that the table's default, or
    another source such as the stream's frame rate, applies); otherwise it is the default.
    """
    for param in table.params():
        if only and param.name not in only:
            continue
        shown = param.default if param.default not in (None, "") else None
        kwargs: dict[str, Any] = {
            "dest": _dest(table, param),
            "default": None if unset_default else param.default,
            "help": param.help + (f" (default: {shown})" if shown is not None else ""),
        }
        if param.type is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = param.type
            kwargs["metavar"] = METAVARS.get(param.name, param.type.__name__.upper())
            if param.choices:
                kwargs["choices"] = param.choices
                del kwargs["metavar"]
        names = [f"--{table.PREFIX}{name}" for name in (*param.aliases, param.option)]
        group.add_argument(*names, **kwargs)


def param_values(args: argparse.Namespace, table: type[ParamSet]) -> dict[str, Any]:
    """The values the options of ``table`` were given (``None`` ones left out)."""
    values = {p.name: getattr(args, _dest(table, p), None) for p in table.params()}
    return {name: value for name, value in values.items() if value is not None}


def param_arguments(params: ParamSet) -> list[str]:
    """The command-line arguments that give ``params`` where they differ from the defaults
    (for a ``gstreamed`` subprocess)."""
    arguments: list[str] = []
    for param in params.params():
        value = getattr(params, param.name)
        if value == param.default:
            continue
        option = f"--{params.PREFIX}{param.option}"
        if param.type is bool:
            arguments.append(option if value else f"--no-{params.PREFIX}{param.option}")
        else:
            arguments += [option, str(value)]
    return arguments


def option_error(error: ParamError) -> str:
    """A parameter error worded with its command-line option."""
    return f"--{error.option}: {error}"


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """--ray [ADDRESS], --workers, --worker-cpus, --worker-gpus, --worker-retries."""
    group = parser.add_argument_group("ray (spread the inputs over a Ray cluster)")
    group.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run the inputs on Ray worker processes: 'local' (the default) starts a cluster "
        "on this machine for the run; 'auto' or ray://HOST:PORT joins a running one (outputs "
        "must be on storage every node sees)",
    )
    add_param_options(group, ClusterParams)


def cluster_params(args: argparse.Namespace) -> ClusterParams:
    """The Ray options as `ClusterParams`."""
    return ClusterParams.from_values(param_values(args, ClusterParams))


# --- model and detection --------------------------------------------------------------------


def add_encoder_options(parser: argparse.ArgumentParser, only: tuple[str, ...] = ()) -> None:
    """--preset, --quality: the x264 settings of annotated videos."""
    add_param_options(parser.add_argument_group("video encoding"), EncoderParams, only=only)


def encoder_params(args: argparse.Namespace) -> EncoderParams:
    """The encoding options as `EncoderParams`."""
    return EncoderParams.from_values(param_values(args, EncoderParams))


def add_batch_options(
    parser: argparse.ArgumentParser,
    only: tuple[str, ...] = ("batch_size", "batch_timeout", "inference_interval", "nireq"),
) -> None:
    """--batch, --batch-timeout, --detect-every, --nireq: how the inputs share the model."""
    add_param_options(
        parser.add_argument_group("several inputs, one model"), BatchParams, only=only
    )


def batch_params(args: argparse.Namespace) -> BatchParams:
    """The batching options as `BatchParams`."""
    return BatchParams.from_values(param_values(args, BatchParams))


def add_model_options(parser: argparse.ArgumentParser, only: tuple[str, ...] = ()) -> None:
    """--model, --backend, --device (and --cuda), --threads, --half, --imgsz."""
    group = parser.add_argument_group("model")
    add_param_options(group, ModelParams, only=only)
    if not only or "device" in only:
        group.add_argument("--cuda", action="store_true", help="same as --device cuda")


def add_detection_options(parser: argparse.ArgumentParser) -> None:
    """--conf, --iou, --classes, --max-det, --agnostic-nms."""
    add_param_options(parser.add_argument_group("detection"), DetectionParams)


def model_params(args: argparse.Namespace) -> ModelParams:
    """The model options as `ModelParams` (``--cuda`` is ``--device cuda``)."""
    values = param_values(args, ModelParams)
    if getattr(args, "cuda", False) and values.get("device", "cpu") == "cpu":
        values["device"] = "cuda"
    return ModelParams.from_values(values)


def detection_params(args: argparse.Namespace) -> DetectionParams:
    """The detection options as `DetectionParams`."""
    return DetectionParams.from_values(param_values(args, DetectionParams))


def detector_from_args(args: argparse.Namespace, timings: Timings | None = None) -> Detector:
    """A `Detector` configured by the model and detection options."""
    return Detector(model_params(args).load(), timings=timings, **detection_params(args).values())


# --- tracking -------------------------------------------------------------------------------


def add_tracker_options(parser: argparse.ArgumentParser) -> None:
    """``--tracker`` and one ``--<tracker>-<param>`` option per parameter in the table."""
    group = parser.add_argument_group("tracking")
    group.add_argument(
        "--tracker",
        choices=list(TRACKERS),
        default=DEFAULT_TRACKER,
        help=f"tracking algorithm (default: {DEFAULT_TRACKER})",
    )
    for table in TRACKERS.values():
        add_param_options(group, table, unset_default=True)


def tracker_from_args(args: argparse.Namespace, frame_rate: float | None = None) -> Tracker:
    """The tracker chosen by parsed options; ``frame_rate`` is the stream's rate when known.

    A parameter not given on the command line keeps its default, except a tracker's
    ``frame_rate``, which follows the stream. Options of another tracker are reported.
    """
    for name, table in TRACKERS.items():
        if name != args.tracker:
            for option in param_values(args, table):
                log.warning(
                    "--%s%s ignored: the tracker is %s",
                    table.PREFIX,
                    option.replace("_", "-"),
                    args.tracker,
                )
    return create_tracker(args.tracker, frame_rate, **param_values(args, TRACKERS[args.tracker]))
