"""``cxbroker keys ...``: each organisation's keys, the signed public keyring, linkage keys.

Only key ids, fingerprints, owners and dates are ever printed; private signing and
encryption keys and linkage keys stay in their 0600 files. The ceremony across
organisations is in README "Keys across organisations"; ``keys init`` without a role
runs all of it locally (``--local-demo``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import click
from rich.table import Table

from broker.keyring import Keyring, Owner, public_key_fingerprint
from broker.keyring.org import OrgKeys, export_json
from broker.settings import Settings
from contracts.catalog import load_catalog
from cxbroker.commands.deployment_keys import deployment
from cxbroker.commands.keys_org import governance, linkage
from cxbroker.output import console as output_console

__all__ = ["keys"]

_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Key directory (default: CX_KEYRING_DIR, else <state dir>/keyring).",
)


def _path(directory: Path | None) -> Path:
    return directory or Settings().keyring_path


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
    """Each organisation's keys, the governance-signed public keyring, linkage keys."""


keys.add_command(governance)
keys.add_command(linkage)
keys.add_command(deployment)


@keys.command()
@click.option("--agency", help="Make this agency's directory: its signing and encryption keys.")
@click.option(
    "--operator",
    help="Make a joiner/insights deployment operator's directory (its signing key only).",
)
@click.option(
    "--operator-kind",
    type=click.Choice(["joiner", "insights"]),
    default="joiner",
    show_default=True,
    help="What the operator runs.",
)
@click.option(
    "--local-demo",
    is_flag=True,
    help="Every role on this machine, each in its own subdirectory (the default).",
)
@click.option(
    "--agencies",
    multiple=True,
    metavar="IDS",
    help="Local demo: agencies, comma-separated (default: all in the catalog).",
)
@click.option(
    "--life-experiences",
    multiple=True,
    metavar="IDS",
    help="Local demo: life experiences with linkage keys (default: all in the catalog).",
)
@_DIR_OPTION
def init(
    agency: str | None,
    operator: str | None,
    operator_kind: str,
    local_demo: bool,
    agencies: tuple[str, ...],
    life_experiences: tuple[str, ...],
    directory: Path | None,
) -> None:
    """Create an organisation's key directory (an agency's: its signing, encryption and
    record-id keys), or run the whole ceremony locally.

    Idempotent: keys that exist are kept, and a second run creates nothing.
    """
    if sum((agency is not None, operator is not None, local_demo)) > 1:
        raise click.UsageError("give one of --agency, --operator or --local-demo")
    catalog = load_catalog()
    path = _path(directory)
    if agency is not None:
        _checked("agency", [agency], [a.id for a in catalog.agencies])
        made = OrgKeys(path).init(Owner("agency", agency))
        for key_id in (*made.signing, *made.encryption, *made.record_id):
            click.echo(f"created key {key_id}")
        taking_part = ", ".join(le.id for le in catalog.life_experiences_of(agency))
        click.echo(
            f"key directory of urn:cx:agency:{agency} at {path}; next: `cxbroker keys trust` "
            f"the governance anchor, `cxbroker keys export`; linkage keys for: {taking_part}"
        )
        return
    if operator is not None:
        made = OrgKeys(path).init(Owner(operator_kind, operator))  # type: ignore[arg-type]
        for key_id in made.signing:
            click.echo(f"created key {key_id}")
        click.echo(
            f"key directory of urn:cx:{operator_kind}:{operator} at {path} (the deployment's "
            "signing key only); next: `cxbroker keys trust`, `cxbroker keys deployment "
            "export-public` for the governance, then `cxbroker keys install`"
        )
        return
    known_agencies = [a.id for a in catalog.agencies]
    known_life = [le.id for le in catalog.life_experiences]
    chosen_agencies = _checked("agency", _split(agencies), known_agencies) or known_agencies
    chosen_life = _checked("life experience", _split(life_experiences), known_life) or known_life
    keyring = Keyring(path)
    result = keyring.init(chosen_agencies, chosen_life)
    for key_id in result.signing:
        click.echo(f"created signing key {key_id}")
    for key_id in result.linkage:
        click.echo(f"created linkage key {key_id}")
    for key_id in result.record_id:
        click.echo(f"created record-id secret {key_id}")
    if result.created_anything:
        click.echo(
            f"local demo {path}: {len(result.signing)} signing, {len(result.linkage)} "
            f"linkage and {len(result.record_id)} record-id key(s) created, each organisation "
            f"in its own subdirectory; the joiner reads {keyring.public_dir()}"
        )
    else:
        click.echo(f"keyring {path} already has every key: nothing created")


@keys.command()
@click.option("--agency", help="Rotate this agency's signing key.")
@click.option("--life-experience", help="Rotate this life experience's linkage key (local demo).")
@click.option("--overlap-days", type=int, default=None, help="Linkage: the overlap in days.")
@_DIR_OPTION
def rotate(
    agency: str | None,
    life_experience: str | None,
    overlap_days: int | None,
    directory: Path | None,
) -> None:
    """Make a new current key; old public keys keep verifying, old linkage keys stay listed."""
    if (agency is None) == (life_experience is None):
        raise click.UsageError("give exactly one of --agency or --life-experience")
    keyring = Keyring(_path(directory))
    if agency is not None:
        key_id = keyring.rotate_signing(agency)
        click.echo(
            f"new current signing key for {agency}: {key_id} "
            "(older keys still verify; export it for the governance to publish)"
        )
    else:
        assert life_experience is not None
        overlap = timedelta(days=overlap_days) if overlap_days is not None else None
        key_id = keyring.rotate_linkage(life_experience, overlap=overlap)
        click.echo(
            f"new current linkage key for {life_experience}: {key_id} "
            "(shared with the life experience's agencies as wrapped packages)"
        )


@keys.command("show")
@click.option("--json", "as_json", is_flag=True, help="The public keys as JSON (no secret).")
@_DIR_OPTION
def show(as_json: bool, directory: Path | None) -> None:
    """Key ids, owners, fingerprints and dates (never any private or linkage key)."""
    keyring = Keyring(_path(directory))
    public = keyring.public_keyring()
    if as_json:
        click.echo(public.to_json().decode(), nl=False)
        return
    table = Table(title=f"public keys ({keyring.public_dir()}, serial {public.serial})")
    for column in ("owner", "use", "key id", "not before", "not after", "status", "fingerprint"):
        table.add_column(column, no_wrap=True)
    for key in public.entries(None):
        status = "revoked" if key.revoked_at else ("current" if key.current else "")
        table.add_row(
            key.owner.urn,
            key.use,
            key.key_id,
            f"{key.created_at:%Y-%m-%d}",
            f"{key.not_after:%Y-%m-%d}",
            status,
            public_key_fingerprint(key.public_key),
        )
    console = output_console()
    console.print(table)
    linkage_table = Table(title="linkage keys held here (ids only)")
    for column in ("life experience", "key id", "created", "current", "overlap until"):
        linkage_table.add_column(column, no_wrap=True)
    for le in keyring.life_experiences():
        for lk in keyring.linkage_history(le):
            linkage_table.add_row(
                le,
                lk.key_id,
                f"{lk.created_at:%Y-%m-%d %H:%M}",
                "yes" if lk.current else "",
                f"{lk.overlap_until:%Y-%m-%d %H:%M}" if lk.overlap_until else "",
            )
    console.print(linkage_table)


keys.add_command(show, "show-public")


@keys.command("export-public")
@click.argument("path", type=click.Path(path_type=Path))
@_DIR_OPTION
def export_public(path: Path, directory: Path | None) -> None:
    """Copy the signed public keyring and its trust anchor to PATH (no secrets)."""
    keyring = Keyring(_path(directory))
    target = keyring.export_public(path)
    count = len(keyring.public_keyring().entries())
    click.echo(f"wrote public keyring ({count} signing keys) and its trust anchor to {target}")


@keys.command("export")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@_DIR_OPTION
def export(out: Path, directory: Path | None) -> None:
    """Write this organisation's public keys, with proofs of possession, for the governance."""
    org = OrgKeys(_path(directory))
    document = org.export()
    out.write_bytes(export_json(document))
    for entry in document["body"]["entries"]:
        raw = base64.b64decode(entry["public_key"])
        click.echo(
            f"{entry['use']} key {entry['key_id']} fingerprint {public_key_fingerprint(raw)}"
        )
    click.echo(f"wrote {out}; read these fingerprints to the governance out of band")


@keys.command("trust")
@click.argument("anchor", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_DIR_OPTION
def trust(anchor: Path, directory: Path | None) -> None:
    """Pin the governance key (its trust-anchor.json); compare the fingerprint it prints."""
    pinned = OrgKeys(_path(directory)).trust(anchor)
    raw = base64.b64decode(pinned.public_key)
    click.echo(
        f"pinned {pinned.governance} key {pinned.key_id} fingerprint {public_key_fingerprint(raw)}"
    )


@keys.command("install")
@click.argument("keyring_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_DIR_OPTION
def install(keyring_file: Path, directory: Path | None) -> None:
    """Verify a signed public keyring under the pinned anchor and install it (a running
    joiner picks it up within seconds)."""
    public = OrgKeys(_path(directory)).install(keyring_file)
    revoked = sum(1 for k in public.entries(None) if k.revoked_at)
    click.echo(
        f"installed public keyring serial {public.serial}: "
        f"{len(public.entries(None))} keys, {revoked} revoked"
    )
