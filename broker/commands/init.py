"""``cxbroker init``: apply the topic plan (and, as they land, principals, ACLs and keys)."""

from __future__ import annotations

import asyncio

import click
from rich.console import Console
from rich.table import Table

from broker.admin import admin_client, broker_count
from broker.settings import Settings
from broker.topics import PlanResult, TopicAction, TopicSpec, apply_plan, plan_topics

__all__ = ["init", "run_init"]


def default_plan(settings: Settings, brokers: int) -> list[TopicSpec]:
    """The topic plan for the catalog's agencies and life experiences."""
    from contracts.catalog import load_catalog

    catalog = load_catalog()
    return plan_topics(
        [a.id for a in catalog.agencies],
        [le.id for le in catalog.life_experiences],
        partitions=settings.partitions,
        brokers=brokers,
        names=settings.topics,
    )


async def run_init(settings: Settings) -> tuple[list[TopicSpec], PlanResult]:
    """Apply the topic plan to the configured cluster; conflicts are returned, not raised."""
    async with admin_client(settings) as admin:
        plan = default_plan(settings, await broker_count(admin))
        return plan, await apply_plan(admin, plan)


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
    settings = Settings()
    plan, result = asyncio.run(run_init(settings))
    console = Console()
    if not quiet:
        print_result(plan, result, console)
    created = sum(a is TopicAction.CREATED for a in result.actions.values())
    if result.changed:
        click.echo(f"created {created} topic(s); {len(plan) - created} already matched the plan")
    elif not result.conflicts:
        click.echo(f"nothing to change: all {len(plan)} topics match the plan")
    result.raise_for_conflicts()
