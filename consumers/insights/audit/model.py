"""What the attacker sees and what the audit answers: the vocabulary of the disclosure audit.

A :class:`Release` is one version of one *audit unit* (a life experience and ISO week: a
journey belongs to exactly one week, so units share no journey) as an outsider sees it:
published values, cells shown as suppressed (a count >= 1: zeros are always published),
hidden cells (never published but part of the arithmetic, e.g. journeys still active: a
count >= 0), and every public linear fact as a :class:`Relation`. Means enter as
``sum / count`` (:class:`MeanSpec`): a published mean pins its hidden sum to ``count *
[mean - d, mean + d]`` (``d`` the rounding), a suppressed one still says ``low * count <=
sum <= high * count``.

The :class:`ProtectionRule` says when a small value counts as protected; a :class:`Finding`
per target says whether it is, by its rule and the width of the interval, never by value.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from contracts.joined import SMALL_CELL_MAX

__all__ = [
    "HIDDEN",
    "SUPPRESSED",
    "TOLERANCE",
    "AuditReport",
    "Finding",
    "Interval",
    "Key",
    "Marker",
    "MeanSpec",
    "ProtectionRule",
    "Relation",
    "Release",
    "Sense",
    "Target",
    "TargetKind",
    "VarKind",
]

Key = Hashable

#: Numerical tolerance of every comparison of solver output.
TOLERANCE: Final = 1e-6


class Marker(Enum):
    """How a cell that shows no value looks to the outsider."""

    SUPPRESSED = "suppressed"  # shown as suppressed: a count >= 1 (zeros are published)
    HIDDEN = "hidden"  # never published, part of the arithmetic: a count >= 0


SUPPRESSED: Final = Marker.SUPPRESSED
HIDDEN: Final = Marker.HIDDEN


class VarKind(Enum):
    """What kind of number a cell is."""

    COUNT = "count"  # a non-negative integer
    SUM = "sum"  # a non-negative real: the sum of answers behind a mean (never published)


class Sense(Enum):
    """The sense of a relation."""

    EQ = "=="
    LE = "<="
    GE = ">="


@dataclass(frozen=True)
class Relation:
    """``sum(coefficient * cell) <sense> rhs`` over cells of one release."""

    terms: tuple[tuple[Key, float], ...]
    sense: Sense = Sense.EQ
    rhs: float = 0.0

    @classmethod
    def total(cls, total: Key, parts: Iterable[Key]) -> Relation:
        """``total = sum(parts)``."""
        return cls(((total, 1.0), *((part, -1.0) for part in parts)))

    @classmethod
    def at_most(cls, smaller: Iterable[Key], larger: Iterable[Key]) -> Relation:
        """``sum(smaller) <= sum(larger)``."""
        terms = [(k, 1.0) for k in smaller] + [(k, -1.0) for k in larger]
        return cls(tuple(terms), Sense.LE, 0.0)

    @classmethod
    def fixed(cls, key: Key, value: float) -> Relation:
        """``key = value`` (a catalog rule such as "no journey of a final week is active")."""
        return cls(((key, 1.0),), Sense.EQ, value)


@dataclass(frozen=True)
class MeanSpec:
    """A mean cell: ``sum_key / count_key`` of answers on a ``low..high`` scale, published
    rounded to ``decimals``. ``sum_key`` is never published (a hidden SUM)."""

    sum_key: Key
    count_key: Key
    low: float = 1.0
    high: float = 5.0
    decimals: int = 2


@dataclass(frozen=True)
class Release:
    """One version of one audit unit as the outsider sees it.

    ``cells``: every published count (its value), suppressed count (SUPPRESSED), hidden
    count or sum (HIDDEN) and mean (value, SUPPRESSED or HIDDEN: a group's mean nobody
    publishes but the audit still protects); ``relations``: every public linear fact over
    its keys; ``monotone``: keys that a public rule says cannot be smaller than in the
    previous version of the unit; ``means``: mean key -> its sum and count.
    """

    release_id: str
    unit: str
    version: int
    cells: Mapping[Key, float | Marker]
    relations: Sequence[Relation]
    kinds: Mapping[Key, VarKind] = field(default_factory=dict)
    monotone: frozenset[Key] = frozenset()
    means: Mapping[Key, MeanSpec] = field(default_factory=dict)

    def kind(self, key: Key) -> VarKind:
        """COUNT unless stated (the sum keys of means are SUM)."""
        return self.kinds.get(key, VarKind.COUNT)

    def with_cells(self, cells: Mapping[Key, float | Marker]) -> Release:
        """The same release with other cells (relations, kinds and means unchanged)."""
        return Release(
            self.release_id,
            self.unit,
            self.version,
            cells,
            self.relations,
            self.kinds,
            self.monotone,
            self.means,
        )


@dataclass(frozen=True)
class ProtectionRule:
    """When a suppressed, hidden or changed small count counts as protected.

    For a sensitive target of true value ``v`` (``1 <= |v| <= threshold``: a count, an
    answer count or a change between releases of 1-10 people) the attacker's exact
    integer interval ``[low, high]`` over everything published must satisfy

    * ``high >= threshold + 1``: nobody can tell that the value is small at all;
    * ``low <= max(floor, v - lower_margin)``: nor narrow it from below by more than
      ``lower_margin``, except for what the *pattern* of the release gives away anyway
      (``floor``: the least value the published zeros alone allow when every other count is
      unknown; a suppressed total of three non-zero parts is at least 3 whatever is done).

    A negative change is the mirror image. A suppressed or hidden mean of 1-``threshold``
    answers must stay at least ``mean_width`` points wide even for an attacker who knows
    its answer count exactly (half of the 1-5 A-11 scale by default).
    """

    threshold: int = SMALL_CELL_MAX
    lower_margin: int = 5
    mean_width: float = 2.0

    def sensitive(self, true_value: float) -> bool:
        """A count (or change) of 1..threshold people or answers, either sign."""
        return 1 <= abs(round(true_value)) <= self.threshold

    def far_goal(self, true_value: float) -> float:
        """The value the interval must reach on the far side (signed)."""
        top = float(self.threshold + 1)
        return top if true_value >= 0 else -top

    def near_goal(self, true_value: float, floor: float) -> float:
        """The value the interval must reach on the near side, given the pattern floor
        (for a negative change: the pattern ceiling)."""
        if true_value >= 0:
            return max(floor, true_value - self.lower_margin)
        return min(floor, true_value + self.lower_margin)

    def protects(self, interval: Interval, floor: float, true_value: float) -> bool:
        """The count rule on an exact interval."""
        far, near = self.far_goal(true_value), self.near_goal(true_value, floor)
        if true_value >= 0:
            return interval.high >= far - TOLERANCE and interval.low <= near + TOLERANCE
        return interval.low <= far + TOLERANCE and interval.high >= near - TOLERANCE

    def protects_mean(self, interval: Interval) -> bool:
        """The mean rule: at least ``mean_width`` wide even for an attacker who knows n."""
        return interval.high - interval.low >= self.mean_width - TOLERANCE

    def describe(self) -> str:
        """The rule in one sentence (what the report and the CLI print; never a value)."""
        return (
            f"a suppressed or hidden count, or a change between releases, of v = 1-"
            f"{self.threshold} people must stay derivable only to an interval reaching up to "
            f"{self.threshold + 1} or more and down to v - {self.lower_margin} or less (or to "
            f"the least value the published zeros alone allow); a withheld mean of "
            f"1-{self.threshold} answers must stay at least {self.mean_width:g} points wide "
            f"even for an attacker who knows its answer count"
        )


class TargetKind(Enum):
    """What a target is."""

    CELL = "cell"
    DELTA = "delta"
    MEAN = "mean"


@dataclass(frozen=True)
class Target:
    """A quantity the attacker may try to derive.

    CELL: ``key`` of ``release_id``; DELTA: ``key`` in ``release_id`` minus the same key in
    ``previous``; MEAN: the mean ``key`` of ``release_id``.
    """

    kind: TargetKind
    release_id: str
    key: Key
    previous: str | None = None


@dataclass(frozen=True)
class Interval:
    """``[low, high]``; ``math.inf`` when unbounded."""

    low: float
    high: float

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low


@dataclass(frozen=True)
class Finding:
    """The audit of one target. ``interval`` is None when check mode decided the rule with
    witnesses (known solutions) instead of computing both bounds."""

    target: Target
    interval: Interval | None
    sensitive: bool
    protected: bool
    reason: str

    def width_class(self, rule: ProtectionRule) -> str:
        """The interval's width as a class, never its ends: what the CLI may print."""
        if self.interval is None:
            return "wide (proved by witnesses)"
        width = self.interval.width
        if width == float("inf"):
            return "unbounded"
        if self.target.kind is TargetKind.MEAN:
            return f">= {rule.mean_width:g} points" if self.protected else "narrow"
        if width <= 0:
            return "pinned"
        return f">= {rule.threshold + 1}" if width >= rule.threshold + 1 else "narrow"


@dataclass
class AuditReport:
    """Every finding, the rule, and what the audit cost."""

    findings: list[Finding]
    rule: ProtectionRule
    solves: int = 0
    mip_solves: int = 0
    seconds: float = 0.0
    components: int = 0
    variables: int = 0

    @property
    def violations(self) -> list[Finding]:
        """Sensitive targets the rule does not hold for."""
        return [f for f in self.findings if f.sensitive and not f.protected]

    @property
    def passed(self) -> bool:
        """True when no sensitive target is too narrow."""
        return not self.violations
