"""``cxbroker keys deployment init|rotate|show|export-public``: the signing keys of the
joiner and insights deployments (owners ``urn:cx:joiner:<name>``,
``urn:cx:insights:<name>``).

A deployment is an organisation of the governance-signed public keyring like an agency:
its operator's directory holds its signing key; ``export-public`` writes the key export
(public keys with key ids, validity, owner and a proof of possession) the governance
assembles (``keys governance assemble``) into ``public-keyring.json``. Readers trust a
deployment's records only through that signed keyring; a joiner or insights process
refuses to start (exit code 11) until its current key is in the keyring installed in its
directory. In a local demo (``keys init`` without a role) all of this is done at once.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import cast

import click

from broker.keyring import Keyring, LocalDemo, OrgKeys, Owner
from broker.keyring.deployment import deployment_org, publication_problem
from broker.keyring.org import export_json
from broker.keyring.public import public_key_fingerprint
from broker.settings import Settings
from contracts.provenance import DeploymentKind

__all__ = ["deployment"]

_KIND = click.argument("kind", type=click.Choice(["joiner", "insights"]))
_KIND_OPTION = click.option(
    "--kind",
    type=click.Choice(["joiner", "insights"]),
    default=None,
    help="The deployment (default: the directory's owner; in a local demo: joiner).",
)
_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The deployment operator's key directory (default: CX_KEYRING_DIR, else "
    "<state dir>/keyring).",
)


def _path(directory: Path | None) -> Path:
    return directory or Settings().keyring_path


def _org(path: Path, kind: str | None) -> OrgKeys:
    """The deployment directory at ``path`` (of ``kind`` when given)."""
    if kind is None:
        kind = "joiner" if LocalDemo.is_root(path) else OrgKeys(path).check().kind
    if kind not in ("joiner", "insights"):
        raise click.UsageError(f"{path} is not a joiner or insights deployment's directory")
    return deployment_org(path, cast(DeploymentKind, kind))[0]


@click.group()
def deployment() -> None:
    """Signing keys of the joiner and insights deployments (published by the governance)."""


@deployment.command()
@_KIND
@click.argument("name")
@_DIR_OPTION
def init(kind: str, name: str, directory: Path | None) -> None:
    """Make the key directory of deployment KIND NAME with its signing key (idempotent;
    the same as `keys init --operator NAME --operator-kind KIND`)."""
    path = _path(directory)
    if LocalDemo.is_root(path):
        raise click.UsageError(f"{path} is a local demo: `cxbroker keys init` makes its keys")
    made = OrgKeys(path).init(Owner(cast(DeploymentKind, kind), name))
    for key_id in made.signing:
        click.echo(f"created key {key_id}")
    click.echo(
        f"key directory of urn:cx:{kind}:{name} at {path}; next: `cxbroker keys trust` the "
        "governance anchor, `cxbroker keys deployment export-public` for the governance, "
        "`cxbroker keys install` the signed keyring it returns"
    )


@deployment.command()
@_KIND
@_DIR_OPTION
def rotate(kind: str, directory: Path | None) -> None:
    """Make a new current signing key for the KIND deployment; its old keys keep verifying
    what they signed. Export it for the governance (a local demo publishes it at once)."""
    key_id = Keyring(_path(directory)).rotate_deployment(cast(DeploymentKind, kind))
    click.echo(f"new current signing key for the {kind} deployment: {key_id}")


@deployment.command()
@_KIND_OPTION
@_DIR_OPTION
def show(kind: str | None, directory: Path | None) -> None:
    """The deployment's signing keys (owner, key id, fingerprint) and whether readers
    trust each: published in the installed signed keyring, or why not."""
    path = _path(directory)
    kinds = [kind] if kind else (["joiner", "insights"] if LocalDemo.is_root(path) else [None])
    for chosen in kinds:
        org = _org(path, chosen)
        owner = org.owner()
        files = org.files("signing")
        for i, file in enumerate(files):
            signer = org.deployment_signer() if i == len(files) - 1 else None
            public = _public(org, file.key_id)
            status = "current" if signer else "older"
            if signer is not None:
                status += f", {publication_problem(org, signer) or 'published'}"
            click.echo(f"{owner.urn:<32} {file.key_id:<44} {public} {status}")


def _public(org: OrgKeys, key_id: str) -> str:
    for entry in org.export()["body"]["entries"]:
        if entry["key_id"] == key_id:
            return public_key_fingerprint(base64.b64decode(entry["public_key"]))
    return "?"


@deployment.command("export-public")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@_KIND_OPTION
@_DIR_OPTION
def export_public(out: Path, kind: str | None, directory: Path | None) -> None:
    """Write the deployment's key export (public keys, key ids, validity, owner, proofs of
    possession; no secret) to OUT for the governance to assemble."""
    org = _org(_path(directory), kind)
    document = org.export()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(export_json(document))
    for entry in document["body"]["entries"]:
        raw = base64.b64decode(entry["public_key"])
        click.echo(
            f"{entry['owner']} {entry['use']} key {entry['key_id']} valid "
            f"{entry['not_before'][:10]}..{entry['not_after'][:10]} "
            f"fingerprint {public_key_fingerprint(raw)}"
        )
    click.echo(f"wrote {out}; read these fingerprints to the governance out of band")
