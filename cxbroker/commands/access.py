"""``cxbroker access show|apply|check|credentials``: the access plan on the cluster.

``show`` prints the ACLs the cluster enforces, per principal; ``apply`` makes
the cluster match ``broker/access.toml``; ``check`` (also ``cxbroker doctor``) says per
principal whether those ACLs let each long-running command run with its defaults, and
why not; ``credentials NAME`` says where a principal's credential is and prints the
password only with ``--show``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from rich.table import Table

from broker.admin import admin_client
from broker.kafka.config import super_users
from broker.security.acls import AclBinding, describe_bindings
from broker.security.apply import (
    AccessResult,
    apply_with_admin,
    effective_acls,
    plan_for_settings,
)
from broker.security.check import Verdict, check_needs
from broker.security.credentials import ADMIN, credential_path, read_credential
from broker.security.errors import access_denied_from, is_access_error
from broker.security.files import write_private
from broker.security.plan import load_plan
from broker.security.profile import cluster_is_secured, load_settings, operator_settings
from broker.security.scram import list_users
from broker.settings import Settings
from cxbroker.client_config import ClientFormat, client_config
from cxbroker.doctor import command_needs
from cxbroker.exitcodes import ExitCode
from cxbroker.output import OUTPUT_OPTION, console, emit_table

__all__ = ["access", "check", "echo_access_result", "render_effective", "verdicts"]

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


def echo_access_result(result: AccessResult, *, err: bool = False) -> None:
    """One summary line of an apply (names and counts; never a secret)."""
    if not result.changed:
        click.echo(f"access plan: nothing to change ({len(result.principals)} principals)", err=err)
        return
    click.echo(
        f"access plan: {len(result.principals)} principals; "
        f"users created {len(result.users_created)}, deleted {len(result.users_deleted)}; "
        f"ACLs created {len(result.acls_created)}, revoked {len(result.acls_deleted)}",
        err=err,
    )
    for b in result.acls_deleted:
        click.echo(f"  revoked {b.principal} {b.describe()}", err=err)
    for name in result.users_deleted:
        click.echo(f"  removed principal {name}", err=err)


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
    console().print(render_effective(acls, planned))
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


async def verdicts(settings: Settings, principal: str | None = None) -> list[Verdict]:
    """Per principal and command: do the cluster's ACLs let it run with its defaults?"""
    try:
        async with admin_client(settings) as admin:
            bindings = await describe_bindings(admin)
            users = set(await list_users(admin))
    except Exception as exc:
        if is_access_error(exc):
            raise access_denied_from(
                exc, settings.sasl_username, "read", "the ACLs and users (run it as admin)"
            ) from exc
        raise
    return [
        check_needs(
            bindings,
            c.principal,
            c.command,
            c.needs,
            super_users=super_users(ADMIN),
            known_users=users,
        )
        for c in command_needs(settings)
        if principal is None or c.principal == principal
    ]


@access.command()
@click.option("--principal", default=None, help="Only this principal (default: all).")
@OUTPUT_OPTION
@AS_OPTION
def check(principal: str | None, output: str, as_: str | None) -> None:
    """Per principal, whether the cluster's ACLs let each command run with its defaults.

    Exit code 5 when any command would be refused; each refusal names the missing grant.
    """
    settings = _operator(as_)
    if not cluster_is_secured(settings):
        click.echo("the cluster is not secured: every principal may run every command")
        return
    results = asyncio.run(verdicts(settings, principal))
    rows = [(v.principal, v.command, "ok" if v.allowed else "REFUSED", v.reason()) for v in results]
    emit_table("access check", ("principal", "command", "verdict", "why"), rows, output)
    refused = sum(not v.allowed for v in results)
    click.echo(f"{len(results) - refused} of {len(results)} command(s) allowed", err=True)
    if refused:
        raise SystemExit(ExitCode.ACCESS_DENIED)


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
