"""Output that a terminal, a script and a log file can all read.

* :func:`console`: rich's console on a terminal; when stdout (or stderr) is a file or a
  pipe, a wide one that never cuts a cell to "…" nor wraps a row to 80 columns.
* :data:`OUTPUT_OPTION` and :func:`emit_table`: ``--output table|json|csv`` for commands
  that print tables (json: one object per row; csv: a header line, then the rows).
* :class:`LineProgress`: instead of a progress bar (which a log file shows as one redrawn
  line or as noise), one plain line every ``interval`` seconds when not on a terminal
  (:func:`is_terminal` of stderr decides).
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TextIO

import click
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

__all__ = [
    "OUTPUT_OPTION",
    "LineProgress",
    "console",
    "emit_table",
    "is_terminal",
    "progress_or_lines",
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
    """Periodic one-line progress for logs, with the part of rich's ``Progress`` API the
    commands use (``add_task``, ``update``, a context manager): instead of a bar (which a
    log file shows as noise or as nothing until the end), one plain line per task every
    ``interval`` seconds, and a last one when the block ends.

    A line reads ``simulate: 1200/5000 (24%) records=9000 elapsed 12s``: the task's
    description, completed/total and its fields (counts only, never a value).
    """

    def __init__(
        self,
        *,
        interval: float = 10.0,
        out: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        console: Console | None = None,
    ) -> None:
        self.console = console or Console(stderr=True, width=WIDE, soft_wrap=True)
        self.interval = interval
        self.clock = clock
        self.out = out or (lambda line: click.echo(line, err=True))
        self.started = clock()
        self._tasks: list[dict[str, Any]] = []
        self._next = self.started + interval
        self.lines = 0

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        for task in range(len(self._tasks)):
            self._emit(task)

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> TaskID:
        """A new task (its id)."""
        self._tasks.append({"description": description, "total": total, "completed": 0, **fields})
        return TaskID(len(self._tasks) - 1)

    def update(
        self,
        task_id: TaskID,
        *,
        completed: float | None = None,
        total: float | None = None,
        **fields: Any,
    ) -> None:
        """Record progress; print a line when ``interval`` has passed since the last one."""
        task = self._tasks[task_id]
        if completed is not None:
            task["completed"] = completed
        if total is not None:
            task["total"] = total
        task.update(fields)
        now = self.clock()
        if now >= self._next:
            self._emit(task_id)
            self._next = now + self.interval

    def _emit(self, task_id: int) -> None:
        task = dict(self._tasks[task_id])
        description, total, completed = (
            task.pop("description"),
            task.pop("total"),
            task.pop("completed"),
        )
        done = f"{completed:.0f}"
        if total:
            done += f"/{total:.0f} ({100 * completed / total:.0f}%)"
        extra = "".join(f" {k}={v}" for k, v in task.items() if v != "")
        self.out(f"{description}: {done}{extra} elapsed {self.clock() - self.started:.0f}s")
        self.lines += 1


def progress_or_lines(console: Console, bar: Callable[[], Progress]) -> Progress | LineProgress:
    """``bar()`` (a rich progress bar) on a terminal, :class:`LineProgress` otherwise."""
    return bar() if console.is_terminal else LineProgress(console=console)
