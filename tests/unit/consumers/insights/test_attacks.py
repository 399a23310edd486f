"""The four attacks of the adversarial review, rebuilt against the project's own releases.

Each attack is first shown to work on what primary suppression alone publishes (the rules
of the live feed: small counts hidden, everything else shown; the audit finds the leak),
then shown to recover nothing from what :func:`next_release` publishes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.insights.aggregate import ALL, CellKey, InsightMetric
from consumers.insights.audit import SUPPRESSED, ProtectionRule, TargetKind, audit
from consumers.insights.release.cells import PERCENTILE_MIN_COMPLETED, release_cells, rounded
from consumers.insights.release.draft import draft_release
from consumers.insights.release.plan import audit_history, next_release
from consumers.insights.release.table import GroupKey, week_table
from contracts.catalog import LifeExperience, load_catalog
from contracts.joined import DriverAverages, JourneySnapshot
from contracts.vocabulary import JourneyStatus, Stage
from tests.support.snapshots import journey, random_week

LE = "recovering-from-a-disaster"
WEEK = "2026-W10"
MONDAY = datetime(2026, 3, 2, 8, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
RULE = ProtectionRule()


@pytest.fixture(scope="module")
def disaster() -> LifeExperience:
    return load_catalog().life_experience(LE)


def answered(n: int, steps: tuple[tuple[str, Stage], ...], score: float) -> JourneySnapshot:
    snap = journey(n, start=MONDAY, steps=steps, status=JourneyStatus.COMPLETED, days=3)
    return snap.model_copy(update={"drivers": DriverAverages(responses=1, satisfaction=score)})


# ----------------------------------------------------- 1. a withheld mean, by subtraction


def one_respondent_elsewhere() -> list[JourneySnapshot]:
    """30 answers from journeys that touched FEMA, one (5.0) from a journey that did not."""
    journeys = [answered(i, (("fema", Stage.APPLY),), 3.0 + (i % 3) / 2) for i in range(30)]
    return [*journeys, answered(99, (("sba", Stage.APPLY),), 5.0)]


def test_attack_1_the_mean_of_one_answer_follows_from_two_published_means(
    disaster: LifeExperience,
) -> None:
    table = week_table(WEEK, one_respondent_elsewhere(), disaster)
    naive = draft_release(table, "v1", unit=WEEK, version=1).release
    report = audit([naive], {"v1": table.values})
    without = GroupKey(WEEK, "without", "fema", "satisfaction", "mean")
    mean = next(f for f in report.findings if f.target.key == without)
    assert mean.interval is not None and mean.interval.width < 0.5  # the one answer: ~5
    assert not report.passed


def test_attack_1_recovers_nothing_from_the_release(disaster: LifeExperience) -> None:
    journeys = one_respondent_elsewhere()
    planned = next_release(WEEK, journeys, disaster, [], now=NOW)
    assert planned is not None
    report = audit(
        audit_history([planned.record], disaster),
        {planned.record.manifest.release: planned.record.truth},
        mode="exact",
    )
    assert report.passed, [f.reason for f in report.violations]
    without = GroupKey(WEEK, "without", "fema", "satisfaction", "mean")
    mean = next(f for f in report.findings if f.target.key == without)
    assert mean.interval is not None and mean.interval.width >= RULE.mean_width
    # A mean is shown only with its answer count, and only for 11 answers or more.
    for cell in planned.record.published:
        if cell.metric.value == "satisfaction" and not cell.suppressed:
            assert cell.count is not None and cell.count > RULE.threshold


# ------------------------------------------- 2. non-negativity and the catalog's rules


def closed_week() -> list[JourneySnapshot]:
    """A final week: 40 journeys, 26 completed, 11 stalled, 3 expired, none active."""
    statuses = [JourneyStatus.COMPLETED] * 26 + [JourneyStatus.STALLED] * 11
    statuses += [JourneyStatus.EXPIRED] * 3
    return [
        journey(i, start=MONDAY + timedelta(hours=i), steps=(("fema", Stage.APPLY),), status=s)
        for i, s in enumerate(statuses)
    ]


def test_attack_2_no_active_journey_pins_a_suppressed_expired_count(
    disaster: LifeExperience,
) -> None:
    table = week_table(WEEK, closed_week(), disaster)
    assert table.final
    naive = draft_release(table, "v1", unit=WEEK, version=1).release
    expired = CellKey(WEEK, ALL, ALL, InsightMetric.JOURNEYS_EXPIRED)
    assert naive.cells[expired] is SUPPRESSED
    report = audit([naive], {"v1": table.values})
    finding = next(f for f in report.findings if f.target.key == expired)
    assert finding.interval is not None and finding.interval.width == 0  # started - others


def test_attack_2_recovers_nothing_from_the_release(disaster: LifeExperience) -> None:
    planned = next_release(WEEK, closed_week(), disaster, [], now=NOW)
    assert planned is not None and planned.record.manifest.final
    report = audit(
        audit_history([planned.record], disaster),
        {planned.record.manifest.release: planned.record.truth},
        mode="exact",
    )
    assert report.passed, [f.reason for f in report.violations]
    for finding in report.findings:
        if finding.sensitive and finding.interval is not None:
            assert finding.interval.high >= RULE.threshold + 1


# --------------------------------------------------------------- 3. differencing releases


def late_journey() -> JourneySnapshot:
    snap = journey(
        999,
        start=MONDAY + timedelta(days=2),
        steps=(("fema", Stage.APPLY), ("sba", Stage.DECISION)),
        status=JourneyStatus.STALLED,
        days=12,
    )
    return snap.model_copy(update={"drivers": DriverAverages(responses=1, satisfaction=1.0)})


def test_attack_3_a_republished_table_isolates_the_journey_in_between(
    disaster: LifeExperience,
) -> None:
    before = random_week(140, seed=11, start=MONDAY, final=True)
    first = next_release(WEEK, before, disaster, [], now=NOW)
    assert first is not None
    after = week_table(WEEK, [*before, late_journey()], disaster)
    history = audit_history([first.record], disaster)
    previous = (history[-1], first.record.truth)
    naive = draft_release(after, "v2", unit=WEEK, version=2, previous=previous).release
    truth = {first.record.manifest.release: first.record.truth, "v2": after.values}
    report = audit([*history, naive], truth, mode="exact")
    leaks = [f for f in report.violations if f.target.kind is TargetKind.DELTA]
    assert leaks  # e.g. the week's stalled journeys went up by exactly one


def test_attack_3_nothing_of_the_journey_between_two_releases_can_be_isolated(
    disaster: LifeExperience,
) -> None:
    before = random_week(140, seed=11, start=MONDAY, final=True)
    first = next_release(WEEK, before, disaster, [], now=NOW)
    assert first is not None
    second = next_release(WEEK, [*before, late_journey()], disaster, [first.record], now=NOW)
    assert second is not None and second.record.manifest.version == 2
    records = [first.record, second.record]
    truth = {r.manifest.release: r.truth for r in records}
    report = audit(audit_history(records, disaster), truth, mode="exact")
    assert report.passed, [f.reason for f in report.violations]
    changed = [k for k, v in second.record.truth.items() if v != first.record.truth.get(k)]
    assert changed
    deltas = {f.target.key: f for f in report.findings if f.target.kind is TargetKind.DELTA}
    for key in changed:
        if key in deltas and deltas[key].sensitive:
            interval = deltas[key].interval
            assert interval is not None
            # Nobody can tell "no change" from a change of 11 or more: path, stall,
            # hand-off and status of the journey stay hidden.
            assert interval.low <= 0 and interval.high >= RULE.threshold + 1, key
    # Its satisfaction score: no published mean changed by fewer than 11 answers.
    shown_before = {c.key(): c for c in first.record.published}
    for cell in second.record.published:
        old = shown_before.get(cell.key())
        shown = cell.metric.value == "satisfaction" and not cell.suppressed and old is not None
        if shown and old is not None and old.value != cell.value:
            assert old.count is not None and cell.count is not None
            assert abs(cell.count - old.count) > RULE.threshold


# --------------------------------------------------------------------- 4. percentiles


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.5, 120.0), min_size=1, max_size=60), st.integers(0, 10_000))
def test_attack_4_no_published_percentile_is_anyone_s_own_time(
    days: list[float], seed: int
) -> None:
    disaster = load_catalog().life_experience(LE)
    journeys = [
        journey(
            seed * 100 + i,
            start=MONDAY,
            steps=(("fema", Stage.APPLY),),
            status=JourneyStatus.COMPLETED,
            days=d,
        )
        for i, d in enumerate(days)
    ]
    table = week_table(WEEK, journeys, disaster)
    draft = draft_release(table, "v1", unit=WEEK, version=1)
    cells = release_cells(LE, table, draft.release, draft.reasons)
    exact = {round(j.elapsed_seconds / 86_400.0, 6) for j in journeys}
    for cell in cells:
        if cell.metric.value.endswith("days-to-complete") and not cell.suppressed:
            assert cell.value is not None
            assert len(days) >= PERCENTILE_MIN_COMPLETED
            assert cell.value % 7 == 0  # whole weeks
            sharing = sum(1 for d in table.days_to_complete[ALL] if rounded(d) == cell.value)
            assert sharing > RULE.threshold  # shared by 11 journeys or more
            assert round(cell.value, 6) not in exact or sharing > RULE.threshold
