"""What ``cxbroker publish --help`` says about the input, and the ``--agency`` default.

The per-kind field lists come from the event contracts and :class:`RawRecord`, so the help
cannot drift from what a row is checked against.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

import click

from contracts.catalog import load_catalog
from contracts.errors import UnknownEntry
from contracts.events import ApplicationStatus, CxEvent, Feedback, ServiceInteraction
from producers.deid.raw import EventKind
from producers.ingest import COLUMNS, REQUIRED_COLUMNS, Row

__all__ = ["DATES_HELP", "agency_option", "kind_fields", "kind_fields_help", "with_agency"]

_MODELS: Final[dict[EventKind, type[CxEvent]]] = {
    EventKind.SERVICE_INTERACTION: ServiceInteraction,
    EventKind.APPLICATION_STATUS: ApplicationStatus,
    EventKind.FEEDBACK: Feedback,
}
#: Raw columns a contract field is made from when their names differ.
_MADE_FROM: Final = {"application_token": "application_id", "comment": "free_text"}
#: Columns every kind may leave out: made when absent (event_id) or optional everywhere.
_ANY_KIND: Final = frozenset({"event_id", "state"})

#: The date and time formats a row may use.
DATES_HELP: Final = (
    "Dates: date_of_birth as YYYY-MM-DD, MM/DD/YYYY, YYYYMMDD, YYYY/MM/DD or MM-DD-YYYY; "
    "occurred_at, started_at and ended_at as ISO 8601 with a UTC offset, e.g. "
    "2026-01-05T08:00:00Z or 2026-01-05T03:00:00-05:00 (a time without offset is rejected)."
)


def kind_fields(kind: EventKind) -> tuple[list[str], list[str]]:
    """The columns a row of ``kind`` needs beyond the always-required ones, and those it
    may add, as its event contract says."""
    needed: list[str] = []
    optional: list[str] = []
    for name, info in _MODELS[kind].model_fields.items():
        column = _MADE_FROM.get(name, name)
        if column not in COLUMNS or column in REQUIRED_COLUMNS or column in _ANY_KIND:
            continue
        (needed if info.is_required() else optional).append(column)
    return needed, optional


def kind_fields_help() -> str:
    """One sentence per kind: the columns it needs and may add."""
    parts = []
    for kind in EventKind:
        needed, optional = kind_fields(kind)
        part = f"kind {kind.value} needs {', '.join(needed)}"
        if optional:
            part += f" (optional: {', '.join(optional)})"
        parts.append(part)
    return "Per kind: " + "; ".join(parts) + "."


def with_agency(rows: Iterable[Row], agency: str) -> Iterator[Row]:
    """``rows`` with ``agency`` filled in where a row has none (the ``--agency`` default)."""
    for row in rows:
        if row.fields is not None and "agency" not in row.fields:
            yield Row(row.line, {**row.fields, "agency": agency}, row.problem)
        else:
            yield row


def agency_option(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--agency``: a catalog agency id in any case (``SSA`` is ``ssa``)."""
    agency = value.strip().lower()
    try:
        load_catalog().agency(agency)
    except UnknownEntry:
        raise click.BadParameter(
            "not an agency id of the catalog; `cxbroker catalog agencies` lists them"
        ) from None
    return agency
