"""``cxbroker kafka fetch|up|status|down``: local Apache Kafka for development and tests."""

from __future__ import annotations

import asyncio
import time

import click
from rich.table import Table

from broker.admin import admin_client
from broker.kafka import cluster_status, start_cluster, stop_cluster
from broker.kafka.config import ClusterSecurity
from broker.kafka.jars import KAFKA_VERSION, ensure_jars
from broker.kafka.state import read_cluster_state
from broker.security.apply import AccessResult, apply_with_admin
from broker.security.plan import load_plan
from broker.security.profile import operator_settings
from broker.settings import Settings
from cxbroker.commands.access import echo_access_result
from cxbroker.exitcodes import ExitCode
from cxbroker.output import console as output_console

__all__ = ["kafka"]


@click.group()
def kafka() -> None:
    """Run Apache Kafka (KRaft) locally from Maven-fetched jars, bound to 127.0.0.1."""


@kafka.command()
def fetch() -> None:
    """Fetch Kafka's jars with Maven (once; cached outside git)."""
    settings = Settings()
    started = time.monotonic()
    path = ensure_jars(settings.cache_dir, quiet=True)
    click.echo(f"Kafka {KAFKA_VERSION} jars in {path} ({time.monotonic() - started:.1f}s)")


@kafka.command()
@click.option("--nodes", type=click.Choice(["1", "3"]), default="1", show_default=True)
@click.option(
    "--security",
    type=click.Choice([m.value for m in ClusterSecurity]),
    default=None,
    help=(
        "Client listener security of a new cluster: SCRAM-SHA-512 over TLS with a local CA "
        "(sasl-tls, the default), SCRAM without TLS (sasl) or none (an explicit choice). "
        "A recorded cluster keeps the security it was formatted with."
    ),
)
def up(nodes: str, security: str | None) -> None:
    """Start a local cluster (or reuse the running one) and print its bootstrap address.

    A secured cluster gets the access plan (broker/access.toml) at once: every principal's
    SCRAM user, credential (0600 in the state dir) and ACLs.
    """
    settings = Settings()
    started = time.monotonic()
    if security is None and read_cluster_state(settings.cluster_dir) is None:
        security = ClusterSecurity.SASL_TLS.value
    state = asyncio.run(start_cluster(settings, int(nodes), security))
    verb = "already running" if state.reused else f"started in {time.monotonic() - started:.1f}s"
    click.echo(
        f"Kafka {state.kafka_version}, {len(state.nodes)} node(s), {verb}; "
        f"security {state.security}; state in {settings.cluster_dir}",
        err=True,
    )
    if state.security != ClusterSecurity.NONE.value:
        echo_access_result(asyncio.run(_apply_access(settings)), err=True)
        click.echo(
            "clients: CX_PROFILE=<principal> (`cxbroker access check` lists them); "
            f"CA: {state.ca_file or '-'}",
            err=True,
        )
    click.echo(state.bootstrap_servers)


async def _apply_access(settings: Settings) -> AccessResult:
    """The access plan applied as the admin super user of the local cluster."""
    admin_settings = operator_settings(settings)
    async with admin_client(admin_settings) as admin:
        return await apply_with_admin(admin, admin_settings, load_plan())


@kafka.command()
def status() -> None:
    """Show the local cluster's nodes; exit code 1 when it is not fully running."""
    settings = Settings()
    state, running = cluster_status(settings)
    if state is None:
        click.echo(f"no local cluster in {settings.cluster_dir}")
        raise SystemExit(ExitCode.FAILED)
    table = Table(title=f"Kafka {state.kafka_version} cluster {state.cluster_id}")
    for col in ("node", "pid", "port", "controller", "running", "log"):
        table.add_column(col)
    for node in state.nodes:
        table.add_row(
            str(node.node_id),
            str(node.pid or "-"),
            str(node.port),
            str(node.controller_port),
            "yes" if running[node.node_id] else "no",
            str(node.log_path),
        )
    output_console().print(table)
    click.echo(f"bootstrap: {state.bootstrap_servers}")
    if not all(running.values()):
        raise SystemExit(ExitCode.FAILED)


@kafka.command()
@click.option("--purge", is_flag=True, help="Also delete the cluster's data and logs.")
def down(purge: bool) -> None:
    """Stop the processes `kafka up` started (only those)."""
    settings = Settings()
    stopped = stop_cluster(settings, purge=purge)
    if stopped:
        click.echo(f"stopped node(s) {', '.join(map(str, stopped))}")
    else:
        click.echo("no running local cluster")
    if purge:
        click.echo(f"removed {settings.cluster_dir}")
