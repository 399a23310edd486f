"""Tier mixing: a default-tier reader reads the insights and the k-protected stream.

The protected stream shows, per start week, groups of >= k journeys with their agencies,
stages and status: lower bounds on the week's insight counts. The audit must take them:
here 11 completed and 11 stalled journeys released on the protected stream pinned a
suppressed single expired journey next to them (started 23 - 11 - 11 = 1).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from consumers.insights.aggregate import ALL, CellKey, InsightMetric
from consumers.insights.audit import Relation, Sense, audit
from consumers.insights.release.plan import audit_history, next_release
from contracts.catalog import LifeExperience, load_catalog
from contracts.joined import JourneySnapshot
from contracts.protected import Precision, group_key, protect
from contracts.vocabulary import JourneyStatus, Stage
from tests.support.snapshots import journey

LE = "recovering-from-a-disaster"
WEEK = "2026-W10"
MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
FEMA = (("fema", Stage.APPLY),)


@pytest.fixture(scope="module")
def disaster() -> LifeExperience:
    return load_catalog().life_experience(LE)


def week() -> list[JourneySnapshot]:
    done = [
        journey(i, start=MONDAY, steps=FEMA, days=3, status=JourneyStatus.COMPLETED)
        for i in range(11)
    ]
    stalled = [
        journey(100 + i, start=MONDAY, steps=FEMA, days=20, status=JourneyStatus.STALLED)
        for i in range(11)
    ]
    return [
        *done,
        *stalled,
        journey(200, start=MONDAY, steps=FEMA, days=30, status=JourneyStatus.EXPIRED),
    ]


def test_the_protected_stream_adds_nothing_to_the_insights_audit(
    disaster: LifeExperience,
) -> None:
    journeys = week()
    # What the joiner releases: the groups of >= 11 at day precision (here all 22 closed
    # completed and stalled journeys, in two groups).
    records = [protect(j, Precision.DAY, k=11) for j in journeys]
    sizes = Counter(group_key(r) for r in records)
    released = Counter(r.status for r in records if sizes[group_key(r)] >= 11)
    assert released == {JourneyStatus.COMPLETED: 11, JourneyStatus.STALLED: 11}

    planned = next_release(WEEK, journeys, disaster, [], now=NOW)
    assert planned is not None
    [release] = audit_history([planned.record], disaster)
    # The reader's knowledge from the protected stream, as the audit's relations.
    known: list[Relation] = []
    for place in ("fema", ALL):
        for status, n in released.items():
            metric = InsightMetric(f"journeys-{status.value}")
            known.append(Relation(((CellKey(WEEK, place, ALL, metric), -1.0),), Sense.LE, -n))
        started = CellKey(WEEK, place, ALL, InsightMetric.JOURNEYS_STARTED)
        known.append(Relation(((started, -1.0),), Sense.LE, -22.0))
    attacker = replace(release, relations=[*release.relations, *known])
    report = audit([attacker], {release.release_id: planned.record.truth}, mode="exact")
    assert report.passed, [f.reason for f in report.violations]
