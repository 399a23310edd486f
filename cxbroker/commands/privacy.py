"""``cxbroker privacy report``: the disclosure risk of the record-level journey streams.

For the fine journeys (restricted tier) at a time precision and the k-protected ones
(default tier) as published: journeys, groups, the share of unique journeys and of
journeys in groups smaller than k, the distribution of group sizes, and which fields drive
uniqueness (the unique share when each is dropped). ``--check`` fails (exit 1) when any
k-protected journey is in a group smaller than k: the held-out scan of PRIVACY.md's
invariant 9.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from broker.security.profile import load_settings
from consumers.privacy.risk import SIZE_BANDS, RiskReport, TimePrecision
from consumers.privacy.scan import Scan, read_streams, scan_lines
from consumers.subscribe import reader_tier
from contracts.catalog import load_catalog
from contracts.errors import UnknownEntry
from cxbroker.errors import BelowK, PrivacyInputError

__all__ = ["privacy", "risk_table"]


@click.group()
def privacy() -> None:
    """Disclosure risk of the journey streams."""


def risk_table(reports: dict[str, RiskReport], title: str) -> Table:
    """One column per stream: the figures of :class:`RiskReport`."""
    table = Table(title=title)
    table.add_column("figure")
    for name in reports:
        table.add_column(name, justify="right")

    def row(label: str, values: list[str]) -> None:
        table.add_row(label, *values)

    items = list(reports.values())
    row("journeys", [str(r.journeys) for r in items])
    row("groups", [str(r.groups) for r in items])
    row("unique", [f"{100 * r.unique_share:.1f} %" for r in items])
    row("in groups < k", [f"{100 * r.below_k_share:.1f} % (k={r.k})" for r in items])
    row("smallest group", [str(r.smallest_group) for r in items])
    for label, _low, _high in SIZE_BANDS:
        row(f"journeys in groups of {label}", [str(r.bands[label]) for r in items])
    fields = sorted({f for r in items for f in r.fields})
    for name in fields:
        row(
            f"unique without {name}",
            [
                f"{100 * r.unique_without[name]:.1f} %" if name in r.unique_without else "-"
                for r in items
            ],
        )
    return table


def _k(life_experiences: list[str], k: int | None) -> int:
    if k is not None:
        return k
    catalog = load_catalog()
    return min(catalog.life_experience(le).min_group_size for le in life_experiences)


@privacy.command("report")
@click.option(
    "--life-experience",
    "-l",
    "life_experiences",
    multiple=True,
    metavar="ID",
    help="Only this life experience (repeatable; default: all).",
)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Read snapshots (JSON lines, 1.0.0 and/or 2.0.0) from this file, not from Kafka.",
)
@click.option(
    "--precision",
    type=click.Choice([p.value for p in TimePrecision]),
    default=TimePrecision.SECOND.value,
    show_default=True,
    help="Time precision the fine journeys are read at.",
)
@click.option("--k", type=click.IntRange(min=2), default=None, help="k [default: catalog].")
@click.option("--output", type=click.Choice(["table", "json"]), default="table")
@click.option("--check", is_flag=True, help="Exit 1 if a protected journey's group is < k.")
def report(
    life_experiences: tuple[str, ...],
    path: Path | None,
    precision: str,
    k: int | None,
    output: str,
    check: bool,
) -> None:
    """Group sizes (k-anonymity) of what the journey streams publish.

    From Kafka, the streams the principal's tier may read: the k-protected journeys, and
    for the restricted tier the fine ones too.
    """
    catalog = load_catalog()
    try:
        for le in life_experiences:
            catalog.life_experience(le)
    except UnknownEntry:
        known = ", ".join(le.id for le in catalog.life_experiences)
        raise PrivacyInputError(f"unknown life experience; known: {known}") from None
    chosen = list(life_experiences) or [le.id for le in catalog.life_experiences]
    if path is not None:
        try:
            with path.open(encoding="utf-8") as lines:
                scan = scan_lines(lines)
        except (OSError, UnicodeDecodeError) as exc:
            raise PrivacyInputError(f"{path}: cannot read ({type(exc).__name__})") from None
        scan.fine = {key: s for key, s in scan.fine.items() if key[0] in chosen}
        scan.protected = {key: r for key, r in scan.protected.items() if key[0] in chosen}
    else:
        settings = load_settings()
        restricted = reader_tier(settings) == "restricted"
        scan = asyncio.run(read_streams(settings, chosen, fine=restricted, protected=True))
    _print(scan, TimePrecision(precision), _k(chosen, k), output)
    if check:
        below = scan.protected_report(_k(chosen, k)).below_k
        if below:
            raise BelowK(f"{below} protected journeys are in groups smaller than k")


def _print(scan: Scan, precision: TimePrecision, k: int, output: str) -> None:
    reports: dict[str, RiskReport] = {}
    if scan.fine:
        reports[f"fine ({precision.value})"] = scan.fine_report(precision, k)
    reports["protected"] = scan.protected_report(k)
    if output == "json":
        doc = {name: r.as_dict() for name, r in reports.items()}
        doc["invalid_records"] = {"count": scan.invalid}
        click.echo(json.dumps(doc, indent=2))
        return
    console = Console() if sys.stdout.isatty() else Console(width=200, soft_wrap=True)
    console.print(risk_table(reports, "disclosure risk of the journey streams"))
    if scan.invalid:
        console.print(f"{scan.invalid} records were not journey snapshots (skipped)")
