"""``cxbroker init``: apply the topic plan and, on a secured cluster, the access plan."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from broker.admin import admin_client, broker_count
from broker.settings import Settings
from broker.topics import PlanResult, TopicAction, TopicSpec, apply_plan, plan_topics

if TYPE_CHECKING:
    from broker.security.apply import AccessResult

__all__ = ["InitResult", "init", "run_init", "run_init_full"]


@dataclass
class InitResult:
    """What ``init`` did: the topic plan's result and, on a secured cluster, the access plan's."""

    plan: list[TopicSpec]
    topics: PlanResult
    access: AccessResult | None = None


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


async def run_init_full(settings: Settings, access_plan: Path | None = None) -> InitResult:
    """Apply the topic plan and, when the cluster is secured, the access plan.

    On a secured local cluster, settings without credentials act as the admin
    super user (its credential is in the state dir). Topic conflicts are returned,
    not raised; a refused ACL or user change raises :class:`~broker.errors.AccessDenied`.
    """
    from broker.security.profile import cluster_is_secured, operator_settings

    settings = operator_settings(settings)
    async with admin_client(settings) as admin:
        plan = default_plan(settings, await broker_count(admin))
        result = InitResult(plan, await apply_plan(admin, plan))
        if cluster_is_secured(settings):
            from broker.security.apply import apply_with_admin
            from broker.security.plan import load_plan

            result.access = await apply_with_admin(admin, settings, load_plan(access_plan))
        return result


async def run_init(settings: Settings) -> tuple[list[TopicSpec], PlanResult]:
    """Apply the topic plan (and, on a secured cluster, the access plan); conflicts are returned."""
    result = await run_init_full(settings)
    return result.plan, result.topics


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
    full = asyncio.run(run_init_full(settings))
    plan, result = full.plan, full.topics
    console = Console()
    if not quiet:
        print_result(plan, result, console)

    created = sum(a is TopicAction.CREATED for a in result.actions.values())
    if result.changed:
        click.echo(f"created {created} topic(s); {len(plan) - created} already matched the plan")
    elif not result.conflicts:
        click.echo(f"nothing to change: all {len(plan)} topics match the plan")
    if full.access is not None:
        from broker.commands.access import echo_access_result

        echo_access_result(full.access)
    result.raise_for_conflicts()
