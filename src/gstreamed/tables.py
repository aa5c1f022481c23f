"""Tables for people: one printer for the terminal (rich) and one for Markdown reports.

Every table of the CLI (timings, tracking results, metrics, cached models, bench reports)
is ``columns`` + ``rows`` of strings; the first column is left-aligned, the rest right-aligned.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

WIDTH = 100


def text_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    caption: str | None = None,
    ruled: bool = True,
) -> str:
    """The table as plain text (no colours), as a terminal or a log file shows it; without
    ``ruled``, a bare listing: no rules and no margin."""
    table = Table(
        title=title, caption=caption, box=box.SIMPLE_HEAVY if ruled else None, pad_edge=ruled
    )
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*map(str, row))
    console = Console(width=WIDTH, file=io.StringIO(), record=True, color_system=None)
    console.print(table)
    return console.export_text()


def print_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    title: str | None = None,
    caption: str | None = None,
    ruled: bool = True,
) -> None:
    """Print `text_table` to stdout."""
    sys.stdout.write(text_table(columns, rows, title, caption, ruled))
    sys.stdout.flush()


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The table in Markdown."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
