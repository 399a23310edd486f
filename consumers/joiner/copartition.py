"""The co-partitioning check the joiner runs before it joins anything.

Journeys are joined per partition number, so every agency topic (and the joiner's
changelog) must have the same partition count; otherwise one token would land in
different partitions of different topics and its events could never meet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from consumers.errors import CoPartitionError, MissingTopics

__all__ = ["check_copartitioned", "describe_partition_counts", "verify_copartitioning"]


def check_copartitioned(counts: Mapping[str, int | None], changelog: str) -> int:
    """Return the common partition count of ``counts`` (topic → count, None = missing).

    Raises :class:`MissingTopics` naming absent topics and :class:`CoPartitionError`
    naming every topic and its count when they differ.
    """
    missing = sorted(topic for topic, n in counts.items() if n is None)
    if missing:
        raise MissingTopics(
            f"topics missing: {', '.join(missing)}; run `cxbroker init` to create them"
        )
    present = {topic: n for topic, n in counts.items() if n is not None}
    distinct = set(present.values())
    if len(distinct) != 1:
        listing = ", ".join(f"{topic}={n}" for topic, n in sorted(present.items()))
        raise CoPartitionError(
            "agency topics and the changelog must have one partition count "
            f"(co-partitioned by journey token), found: {listing}"
        )
    if changelog not in present:
        raise MissingTopics(f"changelog topic {changelog} is not among the checked topics")
    return distinct.pop()


async def describe_partition_counts(admin: Any, topics: Sequence[str]) -> dict[str, int | None]:
    """Partition count per topic (None for a topic the cluster does not have)."""
    existing = set(await admin.list_topics())
    wanted = [t for t in topics if t in existing]
    counts: dict[str, int | None] = {t: None for t in topics}
    if wanted:
        for described in await admin.describe_topics(wanted):
            if described["error_code"] == 0:
                counts[described["topic"]] = len(described["partitions"])
    return counts


async def verify_copartitioning(
    admin: Any, agency_topics: Sequence[str], changelog: str, outputs: Sequence[str] = ()
) -> int:
    """Check the inputs are co-partitioned and every output exists; return the count."""
    counts = await describe_partition_counts(admin, [*agency_topics, changelog, *outputs])
    missing = sorted(topic for topic in outputs if counts.get(topic) is None)
    if missing:
        raise MissingTopics(
            f"topics missing: {', '.join(missing)}; run `cxbroker init` to create them"
        )
    return check_copartitioned({t: counts[t] for t in [*agency_topics, changelog]}, changelog)
