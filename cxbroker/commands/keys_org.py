"""``cxbroker keys governance ...`` and ``cxbroker keys linkage ...``.

The governance signs the public keyring from the agencies' exports and revokes keys;
an agency makes a linkage key and wraps it for the other agencies of the life experience,
which accept their packages. Nothing secret is ever printed.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path

import click

from broker.errors import KeyringError
from broker.files import write_atomic
from broker.keyring import Governance, LinkageStore, public_key_fingerprint
from broker.keyring.linkstore import package_file_bytes
from broker.keyring.org import OrgKeys
from broker.settings import Settings

__all__ = ["governance", "linkage"]

_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Key directory (default: CX_KEYRING_DIR, else <state dir>/keyring).",
)
_OUT = click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the signed public keyring (publish it to every organisation).",
)


def _path(directory: Path | None) -> Path:
    return directory or Settings().keyring_path


def _load(path: Path) -> object:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        raise KeyringError(f"{path} is not a readable JSON file") from None


@click.group()
def governance() -> None:
    """The governance key: sign the public keyring from exports, revoke keys."""


@governance.command("init")
@click.option("--name", required=True, help="The governance body's id (urn:cx:governance:<name>).")
@_DIR_OPTION
def governance_init(name: str, directory: Path | None) -> None:
    """Make the governance key; its trust-anchor.json is what every organisation pins."""
    gov = Governance(_path(directory))
    anchor = gov.init(name)
    click.echo(
        f"governance {anchor.governance} key {anchor.key_id} fingerprint {gov.fingerprint()}; "
        f"give {gov.org.path / 'trust-anchor.json'} to every organisation"
    )


@governance.command("assemble")
@click.argument("exports", nargs=-1, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@_OUT
@_DIR_OPTION
def governance_assemble(exports: tuple[Path, ...], out: Path, directory: Path | None) -> None:
    """Check the exports (proofs of possession, no key id reused) and sign a new keyring."""
    gov = Governance(_path(directory))
    signed = gov.assemble([_load(p) for p in exports])  # type: ignore[misc]
    write_atomic(out, signed, mode=0o644)
    body = gov.body()
    assert body is not None
    for entry in body.entries:
        raw = base64.b64decode(entry.public_key)
        click.echo(f"{entry.owner} {entry.use} {entry.key_id} {public_key_fingerprint(raw)}")
    click.echo(f"signed public keyring serial {body.serial} written to {out}")


@governance.command("revoke")
@click.argument("key_id")
@click.option(
    "--reason",
    type=click.Choice(["compromised", "superseded", "retired"]),
    default="compromised",
    show_default=True,
)
@click.option(
    "--at",
    "at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z"]),
    default=None,
    help="Records of the key at or after this time are refused (default: now).",
)
@_OUT
@_DIR_OPTION
def governance_revoke(
    key_id: str, reason: str, at: datetime | None, out: Path, directory: Path | None
) -> None:
    """Revoke a key and sign a new keyring (readers pick it up without a restart)."""
    gov = Governance(_path(directory))
    write_atomic(out, gov.revoke(key_id, reason=reason, at=at), mode=0o644)
    body = gov.body()
    assert body is not None
    click.echo(f"revoked {key_id} ({reason}); signed public keyring serial {body.serial} at {out}")


@click.group()
def linkage() -> None:
    """Linkage keys: make one and wrap it for the life experience's agencies; accept one."""


@linkage.command("new")
@click.option("--life-experience", required=True)
@click.option(
    "--overlap-days",
    type=int,
    default=None,
    help="On a rotation: days in which tokens of both keys are made (default: the window).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for the packages (one per other agency; only it can open its own).",
)
@_DIR_OPTION
def linkage_new(
    life_experience: str, overlap_days: int | None, out: Path, directory: Path | None
) -> None:
    """Make the next linkage key (first or rotation), keep it, wrap it for each participant."""
    org = OrgKeys(_path(directory))
    overlap = timedelta(days=overlap_days) if overlap_days is not None else None
    key_id, packages = LinkageStore(org).make(
        life_experience, org.public_keyring(), overlap=overlap
    )
    out.mkdir(parents=True, exist_ok=True)
    for agency, package in packages.items():
        target = out / f"{key_id}.{agency}.json"
        write_atomic(target, package_file_bytes(package), mode=0o644)
        click.echo(f"package for urn:cx:agency:{agency}: {target}")
    click.echo(f"linkage key {key_id} of {life_experience} kept in {org.path} (0600)")


@linkage.command("accept")
@click.argument("package", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@_DIR_OPTION
def linkage_accept(package: Path, directory: Path | None) -> None:
    """Open a package addressed to this agency (sender checked) and keep its key 0600."""
    org = OrgKeys(_path(directory))
    key_id = LinkageStore(org).accept(_load(package), org.public_keyring())  # type: ignore[arg-type]
    click.echo(f"accepted linkage key {key_id}; kept in {org.path} (0600)")


@linkage.command("share")
@click.option("--key-id", required=True, help="A linkage key this agency holds.")
@click.option("--to", "agency", required=True, help="The participating agency to wrap it for.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for the package.",
)
@_DIR_OPTION
def linkage_share(key_id: str, agency: str, out: Path, directory: Path | None) -> None:
    """Wrap a held linkage key for an agency onboarded later (listed in the public keyring)."""
    org = OrgKeys(_path(directory))
    package = LinkageStore(org).share(key_id, agency, org.public_keyring())
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{key_id}.{agency}.json"
    write_atomic(target, package_file_bytes(package), mode=0o644)
    click.echo(f"package for urn:cx:agency:{agency}: {target}")
