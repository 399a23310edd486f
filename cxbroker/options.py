"""Command-line options and value parsers that several ``cxbroker`` commands share."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

import click

__all__ = ["WORKERS_OPTION", "parse_duration"]

#: The ``--workers`` option of the bulk publishing commands (``publish``, ``simulate``).
WORKERS_OPTION: Final = click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Prepare (de-identify, guard, sign) in this many worker processes beside the "
    "sending; 0: in this process. Helps when cores are free.",
)

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90``/``90s``, ``15m``, ``1h``, ``30d`` → timedelta."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise click.BadParameter("use a number with an optional unit s, m, h or d (e.g. 1h)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
