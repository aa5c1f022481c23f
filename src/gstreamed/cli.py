"""The ``gstreamed`` command line: ``gstreamed INPUT`` or ``gstreamed SUBCOMMAND ...``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from gstreamed import __version__
from gstreamed.commands import SUBCOMMANDS
from gstreamed.commands.options import option_error
from gstreamed.errors import GstreamedError
from gstreamed.memory import limit_malloc_arenas
from gstreamed.params import ParamError

log = logging.getLogger("gstreamed")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command module."""
    parser = argparse.ArgumentParser(
        prog="gstreamed",
        description="YOLO object detection and tracking in GStreamer pipelines. "
        "'gstreamed INPUT' is short for 'gstreamed run INPUT'.",
    )
    parser.add_argument("--version", action="version", version=f"gstreamed {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"gstreamed.commands.{name}")
        module.add_parser(sub)
    return parser


def _normalise(argv: list[str]) -> list[str]:
    """Insert the default ``run`` command when the first positional is not a sub-command."""
    for index, arg in enumerate(argv):
        if arg in ("-h", "--help", "--version"):
            return argv
        if arg == "--":  # what follows is inputs, even names starting with "-"
            return [*argv[:index], "run", *argv[index:]]
        if arg.startswith("-"):
            continue
        if arg not in SUBCOMMANDS:
            argv = [*argv[:index], "run", *argv[index:]]
        return argv
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 failure, 2 usage, 130 interrupted)."""
    limit_malloc_arenas()  # a process that may run for days: see gstreamed.memory
    args_list = _normalise(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(args_list)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="gstreamed: %(levelname)s: %(message)s")
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except ParamError as exc:
        print(f"gstreamed: error: {option_error(exc)}", file=sys.stderr)
        return 1
    except GstreamedError as exc:
        print(f"gstreamed: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gstreamed: interrupted", file=sys.stderr)
        return 130
