"""Output that a terminal, a script and a log file can all read.

* :func:`console`: rich's console on a terminal; when stdout (or stderr) is a file or a
  pipe, a wide one that never cuts a cell to "…" nor wraps a row to 80 columns.
* :data:`OUTPUT_OPTION` and :func:`emit_table`: ``--output table|json|csv`` for commands
  that print tables (json: one object per row; csv: a header line, then the rows).
* :class:`LineProgress`: instead of a progress bar (which a log file shows as one redrawn
  line or as noise), one plain line every ``interval`` seconds when not on a terminal.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Final, TextIO

import click
from rich.console import Console
from rich.table import Table

__all__ = [
    "OUTPUT_OPTION",
    "LineProgress",
    "console",
    "emit_table",
    "is_terminal",
    "render_rows",
]

#: The width of a console writing to a file or a pipe: wide enough for every table.
WIDE: Final = 400

OUTPUT_OPTION: Final = click.option(
    "--output",
    "-o",
    "output",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="table (never cut when not a terminal), json (one object per line) or csv.",
)


def is_terminal(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (stdout) is an interactive terminal."""
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def console(*, stderr: bool = False) -> Console:
    """A console for stdout (or stderr): the terminal's, or a wide one for files and pipes
    so that no table cell is ever cut or wrapped."""
    stream = sys.stderr if stderr else sys.stdout
    if is_terminal(stream):
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=WIDE, soft_wrap=True, no_color=True)


def render_rows(headers: Sequence[str], rows: Sequence[Sequence[object]], fmt: str) -> str:
    """``rows`` as JSON lines or CSV text (``fmt`` ``json`` or ``csv``)."""
    if fmt == "json":
        return "".join(
            json.dumps(dict(zip(headers, row, strict=True)), default=str) + "\n" for row in rows
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([[str(cell) for cell in row] for row in rows])
    return buffer.getvalue()


def emit_table(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], fmt: str = "table"
) -> None:
    """Print ``rows`` as a rich table (full width off a terminal), JSON lines or CSV."""
    if fmt != "table":
        click.echo(render_rows(headers, rows, fmt), nl=False)
        return
    table = Table(title=title)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console().print(table)


class LineProgress:
    """Periodic one-line progress for logs: ``<label>: <text>`` every ``interval`` seconds.

    ``update(text_fn)`` is cheap to call often; the text is built only when a line is due.
    """

    def __init__(
        self,
        label: str,
        *,
        interval: float = 10.0,
        out: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.interval = interval
        self.clock = clock
        self.out = out or (lambda line: click.echo(line, err=True))
        self._next = clock() + interval
        self.lines = 0

    def update(self, text: Callable[[], str], *, force: bool = False) -> None:
        """Print ``text()`` if ``interval`` has passed since the last line (or ``force``)."""
        now = self.clock()
        if force or now >= self._next:
            self.out(f"{self.label}: {text()}")
            self.lines += 1
            self._next = now + self.interval
