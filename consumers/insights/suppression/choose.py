"""Choosing the cells to suppress: primary, then complementary until nothing small leaks.

:func:`suppress` applies

1. **primary suppression**: every count of 1..10 (totals included) is suppressed;
2. **complementary suppression**: while the checker
   (:func:`~consumers.insights.suppression.checker.derivable_cells`) can still recover a
   value of 1..10 (a suppressed or hidden one), it suppresses one more non-zero cell next
   to each leak: the smallest part (then total) of the equation with the fewest unknowns
   that contains the leaking key; if that equation has nothing left to suppress, the search
   widens to the equations sharing its unknowns. The first few candidates are tried with a
   *local* outsider (the equations within two hops of the leak) and the first that stops
   the leak there wins. One full check per round, then every leak it found is answered (a
   leak that survived earlier answers gets 2, 4, ... complements); the loop ends only when
   a full check finds no leak, so the local shortcuts choose cells but never decide that
   the table is safe.

Values of 11 or more that happen to be derivable are not a disclosure (they could have been
published) and are left alone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic

from consumers.errors import SuppressionFailed
from consumers.insights.suppression.checker import Outsider, derivable_cells
from consumers.insights.suppression.table import (
    K,
    Margin,
    check_table,
    index_equations,
    is_small,
    to_equations,
)
from contracts.joined import SMALL_CELL_MAX

__all__ = ["Suppression", "suppress"]

# How many complementary candidates (cheapest first) are tried against one leak before
# falling back to the cheapest one and letting the fixed-point loop continue.
_MAX_TRIALS = 3

# How many equation hops around a leak a candidate's trial looks at (see ``suppress``).
_TRIAL_RADIUS = 2

# A leak that keeps coming back gets 1, 2, 4, ... complements per round, at most 2**this.
_MAX_DOUBLINGS = 4


@dataclass(frozen=True)
class Suppression(Generic[K]):
    """The result of :func:`suppress`.

    ``published`` maps every non-hidden key to its value, or None when suppressed;
    ``primary`` and ``complementary`` say why each suppressed key is suppressed.
    """

    published: dict[K, int | None]
    primary: frozenset[K]
    complementary: frozenset[K]

    @property
    def suppressed(self) -> frozenset[K]:
        """Every suppressed key."""
        return self.primary | self.complementary


def suppress(
    counts: Mapping[K, int],
    margins: Iterable[Margin[K]],
    *,
    hidden: Collection[K] = (),
    threshold: int = SMALL_CELL_MAX,
) -> Suppression[K]:
    """Primary and complementary suppression of ``counts`` (see the module docstring).

    ``margins`` lists ``(total, parts)`` pairs; ``hidden`` keys are never published but take
    part in the arithmetic. The iteration order of ``counts`` breaks ties, so the result is
    deterministic for a deterministic input.
    """
    margins = list(margins)
    check_table(counts, margins)
    chooser = _Chooser(counts, margins, frozenset(hidden), threshold)
    chooser.complete_lone_unknowns()
    chooser.close_leaks()
    return Suppression(chooser.published, chooser.primary, frozenset(chooser.complementary))


class _Chooser(Generic[K]):
    """One :func:`suppress` run: what is published so far, and what is suppressed and why."""

    def __init__(
        self,
        counts: Mapping[K, int],
        margins: Sequence[Margin[K]],
        hidden: frozenset[K],
        threshold: int,
    ) -> None:
        self.counts = counts
        self.margins = margins
        self.threshold = threshold
        self.totals = frozenset(total for total, _ in margins)
        self.hidden = hidden
        self.order = {key: index for index, key in enumerate(counts)}
        self.published: dict[K, int | None] = {
            key: (None if is_small(value, threshold) else value)
            for key, value in counts.items()
            if key not in hidden
        }
        self.primary = frozenset(key for key, value in self.published.items() if value is None)
        self.complementary: set[K] = set()
        self.equations = to_equations(margins)
        self.equations_of = index_equations(self.equations)

    def complete_lone_unknowns(self) -> None:
        """The classic pass first (cheap): an equation left with one unknown that must stay
        unknown gets its smallest non-zero part (totals last) suppressed too; repeat to a
        fixed point."""
        changed = True
        while changed:
            changed = False
            for index in range(len(self.equations)):
                open_keys = self._unknowns(index)
                if len(open_keys) == 1 and self._protected(open_keys[0]):
                    options = self._candidates(index)
                    if options:
                        self._suppress(min(options, key=self._cost))
                        changed = True

    def close_leaks(self) -> None:
        """Then the outsider's full arithmetic, until it recovers no small value.

        One full check per round; the round answers its leaks one after the other, and only
        a full check with no leak ends the loop.
        """
        answered: dict[K, int] = {}  # rounds in which each leak was answered
        while True:
            recovered = Outsider(self.published, self.equations, self.equations_of).solve()
            leaks = sorted(
                (key for key in recovered if is_small(self.counts[key], self.threshold)),
                key=self.order.__getitem__,
            )
            if not leaks:
                break
            if not self._answer(leaks, answered):
                raise SuppressionFailed("no cell left to suppress, yet a small value is derivable")

    def _answer(self, leaks: list[K], answered: dict[K, int]) -> int:
        """Suppress complements for the leaks of one round; how many cells it suppressed."""
        added = 0
        for leak in leaks:
            # Every leak of the round is answered (measured: fewer rounds and no more
            # suppressed cells than answering only leaks far from earlier answers). A leak
            # that survives its answers is pinned by a long chain of totals the local trial
            # does not see; it gets twice as many complements each time it comes back, so
            # it takes a few rounds rather than one round per complement.
            chosen: K | None = None
            for _ in range(2 ** min(answered.get(leak, 0), _MAX_DOUBLINGS)):
                chosen = self._complement_for(leak)
                if chosen is None:
                    break
                self._suppress(chosen)
                added += 1
            if chosen is None:
                break  # nothing left near this leak: the next full check decides
            answered[leak] = answered.get(leak, 0) + 1
        return added

    def _complement_for(self, leak: K) -> K | None:
        """The cell to suppress next against ``leak``, or None when none is left.

        Candidates: the non-zero published neighbours of the leak, nearest equations first
        (then widening through the unknowns they share), smallest value first within one
        equation. The first candidate that stops this leak on its own wins; failing that,
        the first candidate still makes progress and the loop comes back for more.
        """
        ranked: list[K] = []
        seen_equations: set[int] = set()
        seen_keys: set[K] = {leak}
        frontier: set[K] = {leak}
        # Only the first _MAX_TRIALS candidates are ever used: stop widening once there.
        while frontier and len(ranked) < _MAX_TRIALS:
            layer = sorted(
                {i for key in frontier for i in self.equations_of.get(key, [])} - seen_equations,
                key=lambda i: (len(self._unknowns(i)), i),
            )
            for index in layer:
                options = sorted(self._candidates(index), key=self._cost)
                ranked.extend(k for k in options if k not in ranked)
            seen_equations.update(layer)
            frontier = {key for i in layer for key in self._unknowns(i)} - seen_keys
            seen_keys |= frontier
        if not ranked:
            ranked = sorted(
                (key for key, value in self.published.items() if value),
                key=lambda k: (self.counts[k], self.order[k]),
            )
        for option in ranked[:_MAX_TRIALS]:
            if not self._still_leaks(leak, option):
                return option
        return ranked[0] if ranked else None

    def _still_leaks(self, leak: K, extra: K) -> bool:
        """Whether ``leak`` stays derivable with ``extra`` suppressed too, locally.

        The outsider on the equations within _TRIAL_RADIUS hops of the leak (through keys
        unknown in the trial). It only chooses among candidates and orders the work;
        whether the table is safe is decided by the full check of :meth:`close_leaks`.
        """
        published = self.published

        def unknown(key: K) -> bool:
            return key == extra or published.get(key) is None

        near: set[int] = set()
        frontier = {leak}
        for _ in range(_TRIAL_RADIUS):
            layer = {i for key in frontier for i in self.equations_of.get(key, ())} - near
            near |= layer
            frontier = {key for i in layer for key in self.equations[i] if unknown(key)}
        local = [self.margins[i] for i in sorted(near)]
        view: dict[K, int | None] = {}
        for i in near:
            for key in self.equations[i]:
                if key in published:
                    view[key] = None if key == extra else published[key]
        return leak in derivable_cells(view, local)

    def _unknowns(self, index: int) -> list[K]:
        return [key for key in self.equations[index] if self.published.get(key) is None]

    def _candidates(self, index: int) -> list[K]:
        """The cells of an equation that may still be suppressed: published, non-zero."""
        return [
            key
            for key in self.equations[index]
            if self.published.get(key) is not None
            and self.counts[key] > 0
            and key not in self.hidden
        ]

    def _cost(self, key: K) -> tuple[bool, int, int]:
        """Cheapest complement first: parts before totals, small values, table order."""
        return (key in self.totals, self.counts[key], self.order[key])

    def _protected(self, key: K) -> bool:
        """Whether ``key`` must stay unknown: suppressed, or hidden and small."""
        if key in self.hidden:
            return is_small(self.counts[key], self.threshold)
        return self.published[key] is None

    def _suppress(self, key: K) -> None:
        self.published[key] = None
        self.complementary.add(key)
