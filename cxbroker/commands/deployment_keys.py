"""``cxbroker keys deployment init|rotate|show|export-public``: the joiner's and insights'
signing keys (owners ``urn:cx:joiner:<name>``, ``urn:cx:insights:<name>``).

A joiner or insights process makes its deployment's first key itself when it has none;
these commands make one ahead of time, rotate it, and export the public keys
(``public-deployments.json``) that readers hold beside ``public-keyring.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from broker.keyring.deployment import DeploymentKeys
from broker.keyring.public import public_key_fingerprint
from broker.settings import Settings
from contracts.provenance import DeploymentKind

__all__ = ["deployment"]

_KIND = click.argument("kind", type=click.Choice(["joiner", "insights"]))
_NAME = click.argument("name")
_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keyring directory (default: CX_KEYRING_DIR, else <state dir>/keyring).",
)


def _keys(directory: Path | None) -> DeploymentKeys:
    return DeploymentKeys(directory or Settings().keyring_path)


@click.group()
def deployment() -> None:
    """Signing keys of the joiner and insights deployments."""


@deployment.command()
@_KIND
@_NAME
@_DIR_OPTION
def init(kind: str, name: str, directory: Path | None) -> None:
    """Make the first signing key of deployment KIND NAME (nothing if it has one)."""
    key_id = _keys(directory).init(cast(DeploymentKind, kind), name)
    click.echo(f"created {key_id}" if key_id else f"urn:cx:{kind}:{name} already has a key")


@deployment.command()
@_KIND
@_NAME
@_DIR_OPTION
def rotate(kind: str, name: str, directory: Path | None) -> None:
    """Make a new current key for KIND NAME; its old public keys keep verifying."""
    click.echo(f"created {_keys(directory).rotate(cast(DeploymentKind, kind), name)}")


@deployment.command()
@_DIR_OPTION
def show(directory: Path | None) -> None:
    """List the deployments' public keys (owner, key id, fingerprint, current)."""
    for key in _keys(directory).public_keys():
        mark = "current" if key.current else ""
        click.echo(
            f"{key.owner:<36} {key.key_id:<44} {public_key_fingerprint(key.public_key)} {mark}"
        )


@deployment.command("export-public")
@click.argument("path", type=click.Path(path_type=Path))
@_DIR_OPTION
def export_public(path: Path, directory: Path | None) -> None:
    """Write the deployments' public keys (no secrets) to PATH (a file or directory)."""
    keys = _keys(directory)
    target = keys.export_public(path)
    click.echo(f"wrote {len(keys.public_keys())} deployment public keys to {target}")
