"""Primary suppression: the release a week's table would be before the audit has its say.

* a count of 1-10 is suppressed (CMS cell-size rule; 0 is published: the convention that
  makes a suppressed count at least 1 for everyone, attacker included);
* hidden cells (active journeys, sums, agency-set groups) are never published;
* a mean is shown only with its answer count, so only for 11 answers or more, and the count
  is a count like any other (suppressed, complemented, audited);
* in a correction, a mean whose value changed is shown again only when its answer count
  changed by 11 or more: a change of a few answers, or of one journey's own average with
  the same count, would be isolated by subtracting the two releases (differencing). The
  audit's change targets cover the counts; this rule covers the means.

The draft then goes to :func:`~consumers.insights.audit.protect`, which adds complementary
suppressions until the audit of every release of the week passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from consumers.insights.aggregate.model import CellKey, InsightMetric
from consumers.insights.audit import HIDDEN, SUPPRESSED, Marker, ProtectionRule, Release
from consumers.insights.release.table import WeekTable

__all__ = ["MONOTONE", "Reason", "WeekDraft", "draft_release"]

#: Counts a public rule says never shrink from one release of a week to the next: journeys
#: that started in a week stay there, and a completed journey stays completed (milestones
#: are never un-reached). The audit links versions by them (an attacker would); a key is
#: linked only where the data agree, so a rule an odd correction breaks adds nothing false.
MONOTONE = frozenset({InsightMetric.JOURNEYS_STARTED, InsightMetric.JOURNEYS_COMPLETED})


class Reason(StrEnum):
    """Why a cell is suppressed (what the CLI and report show: the rule, never a value)."""

    SMALL_COUNT = "small-count"  # published as small-cell (see SuppressionReason)
    COMPLEMENTARY = "complementary"  # published as small-cell
    FEW_ANSWERS = "few-answers"
    CORRECTION = "correction"


@dataclass(frozen=True)
class WeekDraft:
    """A draft release and the reason of each primary suppression."""

    release: Release
    reasons: dict[object, Reason]


def draft_release(
    table: WeekTable,
    release_id: str,
    *,
    unit: str,
    version: int,
    previous: tuple[Release, Mapping[object, float]] | None = None,
    rule: ProtectionRule | None = None,
) -> WeekDraft:
    """The draft of ``table`` as release ``release_id`` (version ``version`` of ``unit``);
    ``previous`` is the last published release of the unit with its true values."""
    rule = rule or ProtectionRule()
    cells: dict[object, float | Marker] = {}
    reasons: dict[object, Reason] = {}
    for key, value in table.values.items():
        if key in table.means:
            continue
        if key in table.hidden:
            cells[key] = HIDDEN
        elif rule.sensitive(value):
            cells[key] = SUPPRESSED
            reasons[key] = Reason.SMALL_COUNT
        else:
            cells[key] = value
    for key, spec in table.means.items():
        if key in table.hidden:
            cells[key] = HIDDEN
            continue
        count = cells[spec.count_key]
        if isinstance(count, Marker):
            cells[key] = SUPPRESSED
            reasons[key] = Reason.FEW_ANSWERS
            continue
        shown = round(table.values[key], spec.decimals)
        if previous is not None and _changed_by_few(key, shown, table, previous, rule):
            cells[key] = SUPPRESSED
            reasons[key] = Reason.CORRECTION
            continue
        cells[key] = shown
    monotone: frozenset[object] = frozenset()
    if previous is not None:
        before = previous[1]
        monotone = frozenset(
            key
            for key in cells
            if isinstance(key, CellKey)
            and key.metric in MONOTONE
            and table.values[key] >= before.get(key, 0.0)
        )
    release = Release(
        release_id,
        unit,
        version,
        cells,
        table.relations,
        dict(table.kinds),
        monotone,
        dict(table.means),
    )
    return WeekDraft(release, reasons)


def _changed_by_few(
    key: object,
    shown: float,
    table: WeekTable,
    previous: tuple[Release, Mapping[object, float]],
    rule: ProtectionRule,
) -> bool:
    release, truth = previous
    before = release.cells.get(key)
    if before is None or isinstance(before, Marker):
        # Not shown last time: only the count change matters, which the audit covers;
        # but a withheld mean's true sum is then known only to lie in 1-5 x n.
        return False
    if before == shown:
        return False
    spec = table.means[key]
    change = table.values[spec.count_key] - truth.get(spec.count_key, 0.0)
    return abs(change) <= rule.threshold
