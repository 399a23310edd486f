"""``cxbroker contracts list|show|export|check``: the contract registry from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from contracts.compat import Mode, check_released
from contracts.errors import UnknownEntry
from contracts.export import (
    ASYNCAPI_FILE,
    contract_schema,
    current_schemas,
    export_documents,
    schemas_from_documents,
)
from contracts.registry import load_registry
from cxbroker.errors import ContractsCommandError, IncompatibleContracts
from cxbroker.output import console as output_console

__all__ = ["contracts"]


def _dump(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@click.group()
def contracts() -> None:
    """Contract registry: list, show, export JSON Schema / AsyncAPI, check compatibility."""


@contracts.command("list")
def list_() -> None:
    """List every registered contract version."""
    registry = load_registry()
    table = Table("contract", "version", "kind", "urn", "newest")
    for entry in registry.entries:
        newest = registry.latest(entry.name).version == entry.version
        table.add_row(
            entry.name, entry.version, entry.kind.value, entry.urn, "yes" if newest else ""
        )
    output_console().print(table)


@contracts.command()
@click.argument("name")
@click.option("--version", "version", help="a specific version (default: the newest)")
def show(name: str, version: str | None) -> None:
    """Print the JSON Schema of contract NAME."""
    registry = load_registry()
    try:
        entry = registry.get(name, version) if version else registry.latest(name)
    except UnknownEntry:
        known = ", ".join(registry.names())
        wanted = f"{name} {version}" if version else name
        raise ContractsCommandError(f"no contract {wanted}; known contracts: {known}") from None
    click.echo(_dump(contract_schema(entry)), nl=False)


@contracts.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(directory: Path) -> None:
    """Write one JSON Schema per contract version and asyncapi.json into DIRECTORY."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        documents = export_documents()
        for file_name, document in documents.items():
            (directory / file_name).write_text(_dump(document), encoding="utf-8")
    except OSError as exc:
        raise ContractsCommandError(f"cannot write to {directory}: {exc.strerror}") from None
    schemas = len(documents) - 1
    click.echo(f"wrote {schemas} contract schemas and {ASYNCAPI_FILE} to {directory}")


def _read_released(directory: Path) -> dict[tuple[str, str], dict[str, Any]]:
    if not directory.is_dir():
        raise ContractsCommandError(f"{directory} is not a folder of released schemas")
    documents: dict[str, Any] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            documents[path.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ContractsCommandError(f"cannot read {path}: {exc}") from None
    try:
        released = schemas_from_documents(documents)
    except ValueError as exc:
        raise ContractsCommandError(str(exc)) from None
    if not released:
        raise ContractsCommandError(f"{directory} holds no <name>-<version>.json schemas")
    return released


@contracts.command()
@click.option(
    "--against",
    "against",
    required=True,
    type=click.Path(path_type=Path),
    help="folder of released schemas (e.g. contracts/schemas)",
)
@click.option(
    "--mode",
    type=click.Choice([mode.value for mode in Mode], case_sensitive=False),
    default=Mode.BACKWARD_TRANSITIVE.value,
    show_default=True,
    help="compatibility mode, applied within each major version",
)
def check(against: Path, mode: str) -> None:
    """Compare the registry with released schemas; exit non-zero on a breaking change."""
    chosen = Mode(mode.upper())
    released = _read_released(against)
    current = current_schemas()
    violations = check_released(released, current, chosen)
    for violation in violations:
        click.echo(f"BREAKING {violation}")
    if violations:
        raise IncompatibleContracts(
            f"{len(violations)} breaking change(s) under {chosen.value} against {against}"
        )
    click.echo(
        f"compatible under {chosen.value}: {len(current)} contract versions, "
        f"{len(released)} released"
    )
