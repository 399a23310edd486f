"""Complementary suppression driven by the audit: suppress more until nothing small leaks.

Given a draft release with its primary suppressions (counts of 1-10, hidden cells, means
whose count is not shown) and every earlier release of its unit, :func:`protect`
suppresses more cells of the draft until :func:`~.run.audit` (``mode="check"``) finds no
violation of the protection rule, in this release or any earlier one: the solver decides,
the heuristics below only choose which cell to try next.

1. **Local pre-pass** (no solver): in every equation ``total = sum(parts)`` whose unknowns
   include a sensitive one, the unknown mass (what the published cells leave for the
   unknown ones) must be able to carry that cell to ``threshold + 1`` with every other
   unknown at its floor; while it cannot, the cheapest published cell of the equation is
   suppressed. A necessary condition only, but it settles most of the work before the
   first solve.
2. **Audit rounds**: each round audits the whole history; every violation gets complements
   from the published non-zero counts of the draft nearest to it (breadth-first through the
   draft's relations and its unknown cells), cheapest first: a violation that comes back
   gets 2, 4, 8 ... complements. A mean follows its answer count.

Every round suppresses at least one more published non-zero count of the draft, or raises
:class:`~consumers.errors.SuppressionFailed` (the release is then withheld whole): a draft
has finitely many. Zeros are never suppressed (the convention that makes a suppressed count
at least 1).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from consumers.errors import SuppressionFailed
from consumers.insights.audit.model import (
    SUPPRESSED,
    AuditReport,
    Key,
    Marker,
    ProtectionRule,
    Relation,
    Release,
    Sense,
    TargetKind,
    VarKind,
)
from consumers.insights.audit.run import audit

__all__ = ["Protection", "protect", "suppress_cells"]

_MAX_DOUBLINGS: Final = 4
_MAX_HOPS: Final = 3


@dataclass(frozen=True)
class Protection:
    """The release to publish, why each cell is suppressed, and the final audit."""

    release: Release
    primary: frozenset[Key]
    complementary: frozenset[Key]
    report: AuditReport
    rounds: int
    solves: int
    seconds: float


def suppress_cells(release: Release, keys: Iterable[Key]) -> Release:
    """``release`` with ``keys`` suppressed and every mean of a withheld count suppressed."""
    cells = dict(release.cells)
    for key in keys:
        cells[key] = SUPPRESSED
    for mean_key, spec in release.means.items():
        if isinstance(cells[spec.count_key], Marker) and not isinstance(cells[mean_key], Marker):
            cells[mean_key] = SUPPRESSED
    return release.with_cells(cells)


class _Draft:
    """The draft's relation graph, for choosing complements."""

    def __init__(self, release: Release, truth: Mapping[Key, float], rule: ProtectionRule):
        self.release = release
        self.truth = truth
        self.rule = rule
        self.means = set(release.means)
        self.sums = {spec.sum_key for spec in release.means.values()}
        self.relations_of: dict[Key, list[int]] = {}
        self.totals: set[Key] = set()
        for index, relation in enumerate(release.relations):
            for key, _ in relation.terms:
                self.relations_of.setdefault(key, []).append(index)
            if _is_total(relation):
                self.totals.add(relation.terms[0][0])
        self.cells = dict(release.cells)

    def candidate(self, key: Key, cells: Mapping[Key, float | Marker] | None = None) -> bool:
        shown = (self.cells if cells is None else cells).get(key)
        return (
            shown is not None
            and not isinstance(shown, Marker)
            and key not in self.means
            and key not in self.sums
            and self.release.kind(key) is VarKind.COUNT
            and shown > 0
        )

    def cost(
        self, key: Key, cells: Mapping[Key, float | Marker] | None = None
    ) -> tuple[bool, float, str]:
        shown = (self.cells if cells is None else cells)[key]
        assert not isinstance(shown, Marker)
        return (key in self.totals, float(shown), repr(key))

    def suppress(self, key: Key) -> None:
        self.cells[key] = SUPPRESSED

    def nearest(
        self, start: Sequence[Key], want: int, cells: Mapping[Key, float | Marker]
    ) -> list[Key]:
        """Up to ``want`` candidates of ``cells`` (the round's starting state), nearest
        first (hops through unknown cells, at most ``_MAX_HOPS``), cheapest first within a
        hop."""
        chosen = [k for k in start if self.candidate(k, cells)]
        seen_keys = set(start)
        seen_relations: set[int] = set()
        frontier = list(start)
        hops = 0
        while frontier and len(chosen) < want and hops < _MAX_HOPS:
            hops += 1
            layer: list[Key] = []
            options: list[Key] = []
            for key in frontier:
                for index in self.relations_of.get(key, ()):
                    if index in seen_relations:
                        continue
                    seen_relations.add(index)
                    for other, _ in self.release.relations[index].terms:
                        if other in seen_keys:
                            continue
                        seen_keys.add(other)
                        if self.candidate(other, cells):
                            options.append(other)
                        elif isinstance(cells.get(other), Marker):
                            layer.append(other)
            options.sort(key=lambda k: self.cost(k, cells))
            chosen += options[: want - len(chosen)]
            frontier = layer
        return chosen

    def pre_pass(self) -> set[Key]:
        """The local necessary condition of the module docstring, to a fixed point."""
        added: set[Key] = set()
        changed = True
        while changed:
            changed = False
            for relation in self.release.relations:
                pick = self._short_of_mass(relation)
                if pick is not None:
                    self.suppress(pick)
                    added.add(pick)
                    changed = True
        return added

    def _short_of_mass(self, relation: Relation) -> Key | None:
        """The cell to suppress in one total whose unknowns cannot carry a sensitive one to
        ``threshold + 1``, or None."""
        if not _is_total(relation):
            return None
        total_key = relation.terms[0][0]
        total = self.cells.get(total_key)
        if total is None or isinstance(total, Marker):
            return None  # an unknown total leaves the parts free upwards
        parts = [k for k, _ in relation.terms[1:]]
        if any(k in self.sums for k in parts):
            return None
        unknown = [k for k in parts if isinstance(self.cells.get(k), Marker)]
        sensitive = [k for k in unknown if self.rule.sensitive(self.truth[k])]
        if not sensitive:
            return None
        known = sum(float(v) for k in parts if not isinstance(v := self.cells[k], Marker))
        floors = sum(1 for k in unknown if self.cells[k] is SUPPRESSED)
        worst = max(1 if self.cells[k] is SUPPRESSED else 0 for k in sensitive)
        gap = self.rule.threshold + 1 + floors - worst - (total - known)
        if gap <= 0:
            return None
        options = sorted(
            (k for k in parts if self.candidate(k)),
            key=lambda k: (float(self.cells[k]) - 1 < gap, *self.cost(k)),  # type: ignore[arg-type]
        )
        if options:
            return options[0]
        return total_key if self.candidate(total_key) else None


def _is_total(relation: Relation) -> bool:
    terms = relation.terms
    return (
        relation.sense is Sense.EQ
        and len(terms) > 1
        and terms[0][1] == 1.0
        and all(c == -1.0 for _, c in terms[1:])
    )


def protect(
    draft: Release,
    truth: Mapping[str, Mapping[Key, float]],
    *,
    history: Sequence[Release] = (),
    rule: ProtectionRule | None = None,
    pre_pass: bool = True,
) -> Protection:
    """Suppress cells of ``draft`` until the audit of ``history + [draft]`` passes."""
    rule = rule or ProtectionRule()
    started = time.perf_counter()
    primary = frozenset(k for k, v in draft.cells.items() if v is SUPPRESSED)
    graph = _Draft(draft, truth[draft.release_id], rule)
    complementary: set[Key] = set()
    if pre_pass:
        complementary |= graph.pre_pass()
    answered: dict[tuple[object, ...], int] = {}
    rounds = 0
    solves = 0
    while True:
        rounds += 1
        current = suppress_cells(draft, [k for k, v in graph.cells.items() if v is SUPPRESSED])
        report = audit([*history, current], truth, rule, mode="check")
        solves += report.solves
        if report.passed:
            break
        added: set[Key] = set()
        snapshot = dict(graph.cells)
        for finding in report.violations:
            target = finding.target
            start: list[Key] = [target.key]
            if target.kind is TargetKind.MEAN and target.release_id == draft.release_id:
                spec = draft.means[target.key]
                start = [spec.count_key, spec.sum_key]
            signature = (target.kind, target.release_id, target.key)
            want = 2 ** min(answered.get(signature, 0), _MAX_DOUBLINGS)
            options = graph.nearest(start, want, snapshot)
            if any(key in added for key in options):
                continue  # a complement chosen this round already works here
            answered[signature] = answered.get(signature, 0) + 1
            for key in options:
                graph.suppress(key)
                added.add(key)
        if not added:
            fallback = sorted((k for k in graph.cells if graph.candidate(k)), key=graph.cost)
            if not fallback:
                raise SuppressionFailed(
                    "no published cell is left to suppress and the audit still fails: "
                    "the release is withheld"
                )
            graph.suppress(fallback[0])
            added.add(fallback[0])
        complementary |= added
    final = suppress_cells(draft, [k for k, v in graph.cells.items() if v is SUPPRESSED])
    extra = frozenset(complementary - primary)
    elapsed = time.perf_counter() - started
    return Protection(final, primary, extra, report, rounds, solves, elapsed)
