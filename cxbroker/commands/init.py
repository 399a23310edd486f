"""``cxbroker init``: apply the topic plan and, on a secured cluster, the access plan."""

from __future__ import annotations

import asyncio

import click
from rich.console import Console
from rich.table import Table

from broker.provision import provision
from broker.security.profile import load_settings
from broker.topics import PlanResult, TopicAction, TopicSpec
from cxbroker.commands.access import echo_access_result
from cxbroker.output import console as output_console

__all__ = ["init", "print_result"]


def print_result(plan: list[TopicSpec], result: PlanResult, console: Console) -> None:
    """A table of every planned topic and what happened to it."""
    table = Table(title="topic plan")
    for col in ("topic", "partitions", "rf", "settings", "result"):
        table.add_column(col)
    colours = {
        TopicAction.CREATED: "green",
        TopicAction.UNCHANGED: "dim",
        TopicAction.CONFLICT: "red",
    }
    for spec in plan:
        action = result.actions[spec.name]
        detail = "; ".join(result.conflicts.get(spec.name, [])) or action.value
        table.add_row(
            spec.name,
            str(spec.partitions),
            str(spec.replication_factor),
            ",".join(f"{k}={v}" for k, v in spec.configs.items()),
            f"[{colours[action]}]{detail}[/]",
        )
    console.print(table)


@click.command()
@click.option("--quiet", "-q", is_flag=True, help="Only print the summary line.")
def init(quiet: bool) -> None:
    """Create the topics of the design on the configured cluster (idempotent).

    An existing topic that differs from the plan (partition count, cleanup
    policy, replication) is reported by name and the exit code is non-zero;
    nothing existing is altered.
    """
    settings = load_settings()
    full = asyncio.run(provision(settings))
    plan, result = full.plan, full.topics
    console = output_console()
    if not quiet:
        print_result(plan, result, console)

    created = sum(a is TopicAction.CREATED for a in result.actions.values())
    if result.changed:
        click.echo(f"created {created} topic(s); {len(plan) - created} already matched the plan")
    elif not result.conflicts:
        click.echo(f"nothing to change: all {len(plan)} topics match the plan")
    if full.access is not None:
        echo_access_result(full.access)
    result.raise_for_conflicts()
