"""``cxbroker access show|apply|credentials``: the access plan on the cluster.

``show`` prints the ACLs the cluster enforces, per principal; ``apply`` makes
the cluster match ``broker/access.toml``; ``credentials NAME`` says where a
principal's credential is and prints the password only with ``--show``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from broker.admin import admin_client
from broker.security.acls import AclBinding
from broker.security.apply import (
    AccessResult,
    apply_with_admin,
    effective_acls,
    plan_for_settings,
)
from broker.security.credentials import credential_path, read_credential
from broker.security.files import write_private
from broker.security.plan import load_plan
from broker.security.profile import load_settings, operator_settings
from broker.settings import Settings
from cxbroker.client_config import ClientFormat, client_config

__all__ = ["access", "echo_access_result", "render_effective"]

PLAN_OPTION = click.option(
    "--plan",
    "plan_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Access plan file (default: broker/access.toml).",
)
AS_OPTION = click.option(
    "--as",
    "as_",
    default=None,
    metavar="PRINCIPAL",
    help="Connect as this principal's stored profile (default: admin on a local cluster).",
)


def _operator(as_: str | None) -> Settings:
    return operator_settings(Settings(), as_)


def echo_access_result(result: AccessResult) -> None:
    """One summary line of an apply (names and counts; never a secret)."""
    if not result.changed:
        click.echo(f"access plan: nothing to change ({len(result.principals)} principals)")
        return
    click.echo(
        f"access plan: {len(result.principals)} principals; "
        f"users created {len(result.users_created)}, deleted {len(result.users_deleted)}; "
        f"ACLs created {len(result.acls_created)}, revoked {len(result.acls_deleted)}"
    )
    for b in result.acls_deleted:
        click.echo(f"  revoked {b.principal} {b.describe()}")
    for name in result.users_deleted:
        click.echo(f"  removed principal {name}")


def render_effective(acls: dict[str, list[AclBinding]], planned: set[str]) -> Table:
    """A table of the effective ACLs per principal (no credentials in it)."""
    table = Table(title="effective ACLs")
    for col in ("principal", "in plan", "ACLs"):
        table.add_column(col)
    for principal in sorted(acls):
        lines = [b.describe() for b in acls[principal]]
        user = principal.split(":", 1)[-1]
        table.add_row(principal, "yes" if user in planned else "no", "\n".join(lines))
    return table


@click.group()
def access() -> None:
    """Principals, credentials and ACLs of the access plan (broker/access.toml)."""


@access.command()
@PLAN_OPTION
@AS_OPTION
def show(plan_path: Path | None, as_: str | None) -> None:
    """Print the ACLs the cluster enforces now, per principal."""
    settings = _operator(as_)

    async def run() -> dict[str, list[AclBinding]]:
        async with admin_client(settings) as admin:
            return await effective_acls(admin, settings.sasl_username)

    acls = asyncio.run(run())
    planned = set(plan_for_settings(settings, load_plan(plan_path)))
    Console(width=160).print(render_effective(acls, planned))
    click.echo(f"{len(acls)} principal(s), {sum(len(v) for v in acls.values())} ACL(s)")


@access.command()
@PLAN_OPTION
@AS_OPTION
def apply(plan_path: Path | None, as_: str | None) -> None:
    """Make the cluster's users and ACLs match the access plan (idempotent; revokes the rest)."""
    settings = _operator(as_)
    plan = load_plan(plan_path)

    async def run() -> AccessResult:
        async with admin_client(settings) as admin:
            return await apply_with_admin(admin, settings, plan)

    echo_access_result(asyncio.run(run()))


@access.command()
@click.argument("name")
@click.option("--show", "reveal", is_flag=True, help="Also print the password.")
def credentials(name: str, reveal: bool) -> None:
    """Where principal NAME's credential is stored; the password only with --show."""
    settings = Settings()
    cred = read_credential(settings.state_dir, name)
    path = credential_path(settings.state_dir, name)
    click.echo(f"principal: {cred.username}")
    click.echo(f"file: {path} (mode {path.stat().st_mode & 0o777:o})")
    click.echo(f"use it with: CX_PROFILE={name} (or CX_SASL_USERNAME and CX_SASL_PASSWORD)")
    if reveal:
        click.echo(f"CX_SASL_USERNAME={cred.username}")
        click.echo(f"CX_SASL_PASSWORD={cred.password}")


@access.command("client-config")
@click.option(
    "--profile",
    "profile",
    default=None,
    metavar="PRINCIPAL",
    help="The principal whose credential to use (default: CX_PROFILE).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in ClientFormat]),
    default=ClientFormat.PROPERTIES.value,
    show_default=True,
    help="properties: Java clients (--consumer.config); librdkafka: kcat -F, confluent-kafka.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the file (mode 0600) instead of printing it.",
)
def client_config_command(profile: str | None, fmt: str, out: Path | None) -> None:
    """A client configuration for PRINCIPAL: bootstrap, security, SCRAM credentials, CA.

    It holds the principal's password: keep it like the credential file (--out writes 0600).
    """
    settings = load_settings(**({"profile": profile} if profile else {}))
    pairs = client_config(settings, ClientFormat(fmt))
    text = "".join(f"{key}={value}\n" for key, value in pairs)
    if out is None:
        click.echo(text, nl=False)
        return
    write_private(out, text.encode())
    click.echo(f"wrote {out} (mode 0600) for {settings.sasl_username or 'no principal'}")
