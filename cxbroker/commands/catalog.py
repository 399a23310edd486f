"""``cxbroker catalog``: the ids a record may use (life experiences, agencies, services,
stages and the other closed values) and the reason codes of rejects and dead letters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import click

from broker.errors import SignatureInvalid
from consumers.joiner.validate import JOINER_REASONS
from contracts.catalog import Catalog, load_catalog
from contracts.errors import DECODE_REASONS
from contracts.vocabulary import ApplicationState, Channel, Outcome, Stage
from producers.ingest.rejects import RejectReason

__all__ = ["SECTIONS", "catalog", "catalog_data"]


def _signature_reasons() -> set[str]:
    pending: list[type[SignatureInvalid]] = [SignatureInvalid]
    found: set[str] = set()
    while pending:
        cls = pending.pop()
        found.add(cls.reason)
        pending.extend(cls.__subclasses__())
    return found


def _life_experiences(catalog: Catalog) -> list[dict[str, Any]]:
    return [
        {
            "id": le.id,
            "name": le.display_name,
            "agencies": list(le.agencies),
            "services": sorted(le.services),
            "token_rule": str(le.token_rule),
        }
        for le in catalog.life_experiences
    ]


def _agencies(catalog: Catalog) -> list[dict[str, Any]]:
    return [
        {
            "id": agency.id,
            "name": agency.display_name,
            "services": [s.id for s in agency.services],
            "life_experiences": [le.id for le in catalog.life_experiences_of(agency.id)],
        }
        for agency in catalog.agencies
    ]


def _services(catalog: Catalog) -> list[dict[str, Any]]:
    return [
        {
            "id": service.id,
            "agency": agency.id,
            "name": service.display_name,
            "stages": [str(stage) for stage in service.stages],
        }
        for agency in catalog.agencies
        for service in agency.services
    ]


def _values(_: Catalog) -> dict[str, list[str]]:
    return {
        "stage": [str(s) for s in Stage],
        "channel": [str(c) for c in Channel],
        "outcome": [str(o) for o in Outcome],
        "application_state": [str(a) for a in ApplicationState],
    }


def _reasons(_: Catalog) -> dict[str, list[str]]:
    return {
        "rejects": [str(r) for r in RejectReason],
        "dead_letters": sorted(DECODE_REASONS | JOINER_REASONS | _signature_reasons()),
    }


#: What ``cxbroker catalog SECTION`` can show, in the order ``all`` shows it.
SECTIONS: Final[dict[str, Callable[[Catalog], Any]]] = {
    "life-experiences": _life_experiences,
    "agencies": _agencies,
    "services": _services,
    "values": _values,
    "reasons": _reasons,
}


def catalog_data(section: str = "all") -> dict[str, Any]:
    """The catalog as plain data: ``{section: entries}`` for one section or all."""
    catalog = load_catalog()
    names = list(SECTIONS) if section == "all" else [section]
    return {name: SECTIONS[name](catalog) for name in names}


def _echo_text(data: dict[str, Any]) -> None:
    for name, entries in data.items():
        click.echo(f"{name}:")
        if isinstance(entries, dict):
            for key, values in entries.items():
                click.echo(f"  {key}: {', '.join(values)}")
            continue
        for entry in entries:
            rest = "; ".join(
                f"{key} {', '.join(value) if isinstance(value, list) else value}"
                for key, value in entry.items()
                if key not in ("id", "name")
            )
            click.echo(f"  {entry['id']:<34} {entry['name']}  ({rest})")


@click.command()
@click.argument("section", type=click.Choice(["all", *SECTIONS]), default="all", required=False)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text (one line per entry) or json (for scripts).",
)
def catalog(section: str, output: str) -> None:
    """The ids records use: life experiences, agencies and their services (with the
    stages each serves), the closed values (stage, channel, outcome, application_state)
    and the reason codes of the rejects file and of dead letters.

    Ids are lower-case (e.g. agency ssa, life experience having-a-child).
    """
    data = catalog_data(section)
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        _echo_text(data)
