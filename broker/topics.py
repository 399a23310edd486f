"""The topic plan of DESIGN.md as data, and its idempotent application to a cluster.

``plan_topics`` is pure: from the catalog's agencies and life experiences, the
partition count and the broker count it returns every topic cx-broker needs.
``apply_plan`` creates what is missing and reports, by name, every existing
topic that differs from the plan; it never alters or deletes anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from broker.errors import TopicConflict

__all__ = [
    "PlanResult",
    "TopicAction",
    "TopicNames",
    "TopicSpec",
    "apply_plan",
    "plan_topics",
]

# How long to wait for a topic that exists to show up in metadata.
METADATA_WAIT_S = 10.0

# How long rejected records stay for inspection: 30 days.
DEADLETTER_RETENTION_MS = str(30 * 24 * 3600 * 1000)


@dataclass(frozen=True)
class TopicNames:
    """Topic names of DESIGN.md, optionally under a namespace prefix.

    The prefix (``CX_TOPIC_PREFIX``, empty by default) lets several environments
    or test runs share one cluster without seeing each other's records.
    """

    prefix: str = ""

    def agency(self, agency: str) -> str:
        """The topic one agency publishes to."""
        return f"{self.prefix}cx.events.{agency}"

    def joined(self, life_experience: str) -> str:
        """The compacted topic of joined journeys of one life experience."""
        return f"{self.prefix}cx.joined.{life_experience}"

    def protected(self, life_experience: str) -> str:
        """The compacted topic of k-protected journeys (the default data-team tier)."""
        return f"{self.prefix}cx.protected.{life_experience}"

    def insights(self, life_experience: str) -> str:
        """The topic of suppressed insight cells of one life experience."""
        return f"{self.prefix}cx.insights.{life_experience}"

    @property
    def deadletter(self) -> str:
        """Rejected records with their reasons."""
        return f"{self.prefix}cx.deadletter"

    @property
    def changelog(self) -> str:
        """The joiner's journey-state changelog."""
        return f"{self.prefix}cx.internal.journey-changelog"

    def group(self, name: str) -> str:
        """A consumer group (or transactional id) ``name`` under the same namespace: the
        access plan puts the prefix in front of those too."""
        return f"{self.prefix}{name}"


@dataclass(frozen=True)
class TopicSpec:
    """One planned topic: the settings that must hold on the cluster."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)
    purpose: str = ""


def plan_topics(
    agencies: Iterable[str],
    life_experiences: Iterable[str],
    *,
    partitions: int,
    brokers: int,
    names: TopicNames | None = None,
) -> list[TopicSpec]:
    """Every topic of the design, for a cluster of ``brokers`` nodes.

    Agency topics and the journey changelog share one partition count, so that a
    journey token lands in the same partition number everywhere (co-partitioning).
    """
    names = names or TopicNames()
    rf = min(3, brokers)
    isr = {"min.insync.replicas": "2" if rf >= 3 else "1"}
    compact = {"cleanup.policy": "compact", **isr}
    plan = [
        TopicSpec(
            names.agency(a),
            partitions,
            rf,
            {"cleanup.policy": "delete", **isr},
            f"de-identified CX events published by {a}",
        )
        for a in sorted(agencies)
    ]
    for le in sorted(life_experiences):
        plan.append(TopicSpec(names.joined(le), partitions, rf, dict(compact), "JourneySnapshot"))
        plan.append(
            TopicSpec(names.protected(le), partitions, rf, dict(compact), "ProtectedSnapshot")
        )
        plan.append(TopicSpec(names.insights(le), 1, rf, dict(compact), "InsightCell"))
    plan.append(
        TopicSpec(
            names.deadletter,
            1,
            rf,
            {"cleanup.policy": "delete", "retention.ms": DEADLETTER_RETENTION_MS, **isr},
            "rejected records, original bytes and reason headers",
        )
    )
    plan.append(TopicSpec(names.changelog, partitions, rf, dict(compact), "joiner state changelog"))
    return plan


class TopicAction(StrEnum):
    """What applying the plan did to one topic."""

    CREATED = "created"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"


@dataclass
class PlanResult:
    """Per topic: the action taken and, for conflicts, what differs."""

    actions: dict[str, TopicAction] = field(default_factory=dict)
    conflicts: dict[str, list[str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(a is TopicAction.CREATED for a in self.actions.values())

    def raise_for_conflicts(self) -> None:
        """Raise :class:`TopicConflict` naming every conflicting topic and setting."""
        if self.conflicts:
            detail = "; ".join(f"{t}: {', '.join(d)}" for t, d in sorted(self.conflicts.items()))
            raise TopicConflict(f"existing topics differ from the plan: {detail}")


def diff_topic(spec: TopicSpec, partitions: int, rf: int, configs: dict[str, str]) -> list[str]:
    """Human-readable differences between a planned and an existing topic."""
    diffs = []
    if partitions != spec.partitions:
        diffs.append(f"partitions {partitions} (plan {spec.partitions})")
    if rf != spec.replication_factor:
        diffs.append(f"replication factor {rf} (plan {spec.replication_factor})")
    for key, want in spec.configs.items():
        have = configs.get(key)
        if have != want:
            diffs.append(f"{key}={have} (plan {want})")
    return diffs


async def _describe(admin: Any, names: Sequence[str]) -> dict[str, tuple[int, int, dict[str, str]]]:
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    if not names:
        return {}
    shape: dict[str, tuple[int, int]] = {}
    # A topic just created elsewhere may not be in this broker's metadata yet: ask again
    # for a short while before reporting it as missing partitions.
    deadline = asyncio.get_running_loop().time() + METADATA_WAIT_S
    while True:
        described = await admin.describe_topics(list(names))
        shape = {
            t["topic"]: (len(t["partitions"]), len(t["partitions"][0]["replicas"]))
            for t in described
            if t["error_code"] == 0 and t["partitions"]
        }
        if len(shape) == len(names) or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, n) for n in shape]
    )
    configs: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.resources:
            _code, _msg, _type, name, entries = resource[:5]
            configs[name] = {e[0]: e[1] for e in entries}
    return {n: (p, rf, configs.get(n, {})) for n, (p, rf) in shape.items()}


async def apply_plan(admin: Any, plan: Sequence[TopicSpec]) -> PlanResult:
    """Create missing topics; compare existing ones with the plan. Never alters a topic.

    ``admin`` is a started ``aiokafka.admin.AIOKafkaAdminClient``.
    """
    from aiokafka.admin import NewTopic

    result = PlanResult()
    existing = set(await admin.list_topics())
    missing = [s for s in plan if s.name not in existing]
    if missing:
        response = await admin.create_topics(
            [
                NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs)
                for s in missing
            ]
        )
        for name, code, message in response.topic_errors:
            if code == 0:
                result.actions[name] = TopicAction.CREATED
            elif code == 36:
                # It exists after all (created meanwhile, or metadata had not caught up):
                # compare it with the plan like any existing topic.
                existing.add(name)
            else:
                raise TopicConflict(f"could not create topic {name}: {message or code}")
    present = [s for s in plan if s.name in existing]
    described = await _describe(admin, [s.name for s in present])
    for spec in present:
        partitions, rf, configs = described.get(spec.name, (0, 0, {}))
        diffs = diff_topic(spec, partitions, rf, configs)
        if diffs:
            result.actions[spec.name] = TopicAction.CONFLICT
            result.conflicts[spec.name] = diffs
        else:
            result.actions[spec.name] = TopicAction.UNCHANGED
    return result
