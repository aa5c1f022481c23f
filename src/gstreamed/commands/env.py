"""``gstreamed env``: what gst-launch-1.0 and gst-inspect-1.0 need to find the elements."""

from __future__ import annotations

import argparse
import shlex
import site
import sys
from pathlib import Path


def plugin_environment() -> dict[str, str]:
    """GST_PLUGIN_PATH (the Python plugin folder), PYTHONPATH (this package + its deps) and
    PYTHONPYCACHEPREFIX.

    The last one gives the loader's embedded interpreter bytecode of its own: gst-python
    1.22's loader was seen to segfault while scanning plugins (PyList_Insert from
    libgstpython) with the bytecode the venv's interpreter leaves beside the sources, and
    never with a cache of its own.
    """
    import gstreamed
    from gstreamed.defaults import cache_dir

    package = Path(gstreamed.__file__).resolve().parent
    paths = [str(package.parent), *site.getsitepackages()]
    return {
        "GST_PLUGIN_PATH": str(package / "gst" / "plugins"),
        "PYTHONPATH": ":".join(dict.fromkeys(paths)),
        "PYTHONPYCACHEPREFIX": str(cache_dir() / "plugin-bytecode"),
    }


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "env",
        help="print the exports that make gst-launch-1.0 find the gstreamed elements",
        description="Print shell exports for GST_PLUGIN_PATH, PYTHONPATH and "
        "PYTHONPYCACHEPREFIX; use as "
        'eval "$(gstreamed env)" before gst-inspect-1.0 / gst-launch-1.0.',
    )
    parser.set_defaults(func=run)


def run(_args: argparse.Namespace) -> int:
    for key, value in plugin_environment().items():
        sys.stdout.write(f"export {key}={shlex.quote(value)}\n")
    return 0
