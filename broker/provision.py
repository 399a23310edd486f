"""Provisioning a cluster for cx-broker: the topic plan and, when secured, the access plan.

One implementation serves ``cxbroker init``, the demo, the benchmarks and the tests. It is
idempotent: topics that match the plan are left alone, a topic that differs is reported by
name (never altered), and the access plan makes the cluster's users and ACLs match
``broker/access.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from broker.admin import admin_client, broker_count
from broker.security.apply import AccessResult, apply_with_admin
from broker.security.plan import load_plan
from broker.security.profile import cluster_is_secured, operator_settings
from broker.settings import Settings
from broker.topics import PlanResult, TopicSpec, apply_plan, plan_topics
from contracts.catalog import load_catalog

__all__ = ["ProvisionResult", "provision", "provision_topics", "topic_plan"]


@dataclass
class ProvisionResult:
    """What provisioning did: the topic plan's result and, on a secured cluster, the access's."""

    plan: list[TopicSpec]
    topics: PlanResult
    access: AccessResult | None = None


def topic_plan(settings: Settings, brokers: int) -> list[TopicSpec]:
    """The topic plan for the catalog's agencies and life experiences."""
    catalog = load_catalog()
    return plan_topics(
        [a.id for a in catalog.agencies],
        [le.id for le in catalog.life_experiences],
        partitions=settings.partitions,
        brokers=brokers,
        names=settings.topics,
    )


async def provision(settings: Settings, access_plan: Path | None = None) -> ProvisionResult:
    """Apply the topic plan and, when the cluster is secured, the access plan.

    On a secured local cluster, settings without credentials act as the admin super
    user (its credential is in the state dir). Topic conflicts are returned, not raised;
    a refused ACL or user change raises :class:`~broker.errors.AccessDenied`.
    """
    settings = operator_settings(settings)
    async with admin_client(settings) as admin:
        plan = topic_plan(settings, await broker_count(admin))
        result = ProvisionResult(plan, await apply_plan(admin, plan))
        if cluster_is_secured(settings):
            result.access = await apply_with_admin(admin, settings, load_plan(access_plan))
        return result


async def provision_topics(settings: Settings) -> tuple[list[TopicSpec], PlanResult]:
    """:func:`provision`, returning the topic plan and its result (conflicts returned)."""
    result = await provision(settings)
    return result.plan, result.topics
