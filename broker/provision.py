"""Provisioning a cluster for cx-broker: the topic plan and, when secured, the access plan.

One implementation serves ``cxbroker init``, the demo, the benchmarks and the tests. It is
idempotent: topics that match the plan are left alone, a topic that differs is reported by
name (never altered), and the access plan makes the cluster's users and ACLs match
``broker/access.toml``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from broker.admin import admin_client, broker_count
from broker.security.apply import AccessResult, apply_with_admin
from broker.security.plan import load_plan
from broker.security.profile import cluster_is_secured, operator_settings
from broker.settings import Settings
from broker.topics import PlanResult, TopicSpec, apply_plan, plan_topics
from contracts.catalog import load_catalog

__all__ = [
    "ProvisionResult",
    "provision",
    "provision_topics",
    "ready_coordinators",
    "topic_plan",
]

#: FindCoordinator key types.
GROUP_COORDINATOR: Final = 0
TXN_COORDINATOR: Final = 1


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
        await ready_coordinators(admin, settings.topics.prefix)
        if cluster_is_secured(settings):
            result.access = await apply_with_admin(admin, settings, load_plan(access_plan))
        return result


#: Seconds :func:`ready_coordinators` waits for Kafka's internal topics.
COORDINATOR_WAIT_S: Final = 60.0


async def ready_coordinators(
    admin: Any, prefix: str = "", within: float = COORDINATOR_WAIT_S
) -> bool:
    """Make Kafka create its group and transaction coordinators' topics now.

    Kafka creates ``__consumer_offsets`` and ``__transaction_state`` on the first
    FindCoordinator request; until they are ready every lookup answers
    COORDINATOR_NOT_AVAILABLE, which aiokafka logs as an ERROR: on a fresh cluster that was
    the first joiner's start. Asking once here, until both answer, keeps it out of the
    joiner's log. Best effort: True when both answered, False when one refused (e.g. an
    operator without rights on transactional ids) or did not answer within ``within``.
    """
    from aiokafka.errors import KafkaError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    keys = ((f"{prefix}cx.joiner", GROUP_COORDINATOR), (f"{prefix}cx.joiner.0", TXN_COORDINATOR))
    for key, kind in keys:
        while True:
            try:
                await admin.find_coordinator(key, kind)
                break
            except KafkaError as exc:
                if not exc.retriable or loop.time() > deadline:
                    return False
                await asyncio.sleep(0.2)
    return True


async def provision_topics(settings: Settings) -> tuple[list[TopicSpec], PlanResult]:
    """:func:`provision`, returning the topic plan and its result (conflicts returned)."""
    result = await provision(settings)
    return result.plan, result.topics
