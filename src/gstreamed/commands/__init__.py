"""Sub-commands of the ``gstreamed`` CLI, one module each.

Each module defines ``add_parser(subparsers)`` which adds its parser and sets
``func=run`` on it; ``run(args) -> int`` returns the exit status.
"""

from __future__ import annotations

# Module names under gstreamed.commands; "run" (process an input) is the default command.
SUBCOMMANDS: tuple[str, ...] = (
    "run",
    "demo",
    "launch",
    "env",
    "bench",
    "models",
    "export",
    "track",
    "eval",
)
