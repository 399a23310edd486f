"""``cxbroker keys init|rotate|show-public|export-public``: the keyring on the command line.

Only key ids, fingerprints and public keys are ever printed; private signing keys and
linkage secrets stay in their 0600 files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from broker.keyring import Keyring, public_key_fingerprint
from broker.settings import Settings
from contracts.catalog import load_catalog
from cxbroker.commands.deployment_keys import deployment

__all__ = ["keys"]

_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keyring directory (default: CX_KEYRING_DIR, else <state dir>/keyring).",
)


def _keyring(directory: Path | None) -> Keyring:
    return Keyring(directory or Settings().keyring_path)


def _split(values: Iterable[str]) -> list[str]:
    """``--agencies ssa,irs --agencies fema`` → ``["ssa", "irs", "fema"]``."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _checked(kind: str, chosen: list[str], known: list[str]) -> list[str]:
    unknown = [item for item in chosen if item not in known]
    if unknown:
        raise click.BadParameter(f"unknown {kind} {', '.join(unknown)} (known: {', '.join(known)})")
    return chosen


@click.group()
def keys() -> None:
    """Agency signing keys (Ed25519) and life-experience linkage keys (HMAC)."""


@keys.command()
@click.option(
    "--agencies",
    multiple=True,
    metavar="IDS",
    help="Agencies to create signing keys for, comma-separated (default: all in the catalog).",
)
@click.option(
    "--life-experiences",
    multiple=True,
    metavar="IDS",
    help="Life experiences to create linkage keys for (default: all in the catalog).",
)
@_DIR_OPTION
def init(
    agencies: tuple[str, ...], life_experiences: tuple[str, ...], directory: Path | None
) -> None:
    """Create the keyring: one signing key per agency, one linkage key per life experience.

    Idempotent: keys that exist are kept, and a second run creates nothing.
    """
    catalog = load_catalog()
    known_agencies = [a.id for a in catalog.agencies]
    known_life = [le.id for le in catalog.life_experiences]
    chosen_agencies = _checked("agency", _split(agencies), known_agencies) or known_agencies
    chosen_life = _checked("life experience", _split(life_experiences), known_life) or known_life
    keyring = _keyring(directory)
    result = keyring.init(chosen_agencies, chosen_life)
    for key_id in result.signing:
        click.echo(f"created signing key {key_id}")
    for key_id in result.linkage:
        click.echo(f"created linkage key {key_id}")
    if result.created_anything:
        click.echo(
            f"keyring {keyring.path}: {len(result.signing)} signing and "
            f"{len(result.linkage)} linkage key(s) created; "
            f"public keyring in {keyring.path / 'public-keyring.json'}"
        )
    else:
        click.echo(f"keyring {keyring.path} already has every key: nothing created")


@keys.command()
@click.option("--agency", help="Rotate this agency's signing key.")
@click.option("--life-experience", help="Rotate this life experience's linkage key.")
@_DIR_OPTION
def rotate(agency: str | None, life_experience: str | None, directory: Path | None) -> None:
    """Make a new current key; old public keys keep verifying, old linkage keys stay listed."""
    if (agency is None) == (life_experience is None):
        raise click.UsageError("give exactly one of --agency or --life-experience")
    keyring = _keyring(directory)
    if agency is not None:
        key_id = keyring.rotate_signing(agency)
        click.echo(
            f"new current signing key for {agency}: {key_id} "
            "(older keys still verify; distribute the public keyring again)"
        )
    else:
        assert life_experience is not None
        key_id = keyring.rotate_linkage(life_experience)
        click.echo(
            f"new current linkage key for {life_experience}: {key_id} "
            "(share it with the life experience's agencies; tokens change with the key)"
        )


@keys.command("show-public")
@click.option("--json", "as_json", is_flag=True, help="Print the public keyring file itself.")
@_DIR_OPTION
def show_public(as_json: bool, directory: Path | None) -> None:
    """List public signing keys and linkage key ids (never any secret)."""
    keyring = _keyring(directory)
    public = keyring.public_keyring()
    if as_json:
        click.echo(public.to_json().decode(), nl=False)
        return
    table = Table(title=f"signing keys ({keyring.path})")
    for column in ("agency", "key id", "created", "current", "fingerprint"):
        table.add_column(column, no_wrap=True)
    for key in public.entries():
        table.add_row(
            key.agency,
            key.key_id,
            f"{key.created_at:%Y-%m-%d %H:%M}",
            "yes" if key.current else "",
            public_key_fingerprint(key.public_key),
        )
    console = Console()
    console.print(table)
    linkage = Table(title="linkage keys (ids only)")
    for column in ("life experience", "key id", "created", "current"):
        linkage.add_column(column, no_wrap=True)
    for le in keyring.life_experiences():
        for lk in keyring.linkage_history(le):
            linkage.add_row(
                le, lk.key_id, f"{lk.created_at:%Y-%m-%d %H:%M}", "yes" if lk.current else ""
            )
    console.print(linkage)


@keys.command("export-public")
@click.argument("path", type=click.Path(path_type=Path))
@_DIR_OPTION
def export_public(path: Path, directory: Path | None) -> None:
    """Write the public keyring (one JSON file, no secrets) to PATH for consumers."""
    keyring = _keyring(directory)
    target = keyring.export_public(path)
    count = len(keyring.public_keyring().entries())
    click.echo(f"wrote public keyring ({count} public keys) to {target}")


keys.add_command(deployment)
