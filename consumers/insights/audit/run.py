"""The disclosure audit: for every target, what the attacker can derive, judged by the rule.

Targets are every suppressed or hidden count of every release (``CELL``), the change of
every count between consecutive versions of a unit (``DELTA``: the journeys that arrived or
moved between two releases form a table of their own), and every withheld mean
(``MEAN``: a suppressed mean, or a hidden one such as "the journeys that did not touch
agency X", whose answer count and sum follow from published cells). A target is
*sensitive* when its true value is a small count (for a mean: its answer count); only
sensitive targets must meet the :class:`~.model.ProtectionRule`.

``mode="exact"`` computes the exact interval of every target (what ``cxbroker insights
audit`` prints); ``mode="check"`` decides the rule for sensitive targets with as few solves
as possible (what complementary suppression runs after every change).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from consumers.insights.audit.model import (
    SUPPRESSED,
    TOLERANCE,
    AuditReport,
    Finding,
    Interval,
    Key,
    Marker,
    ProtectionRule,
    Release,
    Target,
    TargetKind,
    VarKind,
)
from consumers.insights.audit.solver import Solver
from consumers.insights.audit.system import Ref, System, consecutive

__all__ = ["Mode", "audit"]

Mode = Literal["exact", "check"]
_SEED_MIN_TARGETS: Final = 3


@dataclass(frozen=True)
class _CountTarget:
    target: Target
    expression: list[tuple[Ref, float]]
    floor: float
    value: float
    sensitive: bool


def audit(
    releases: Sequence[Release],
    truth: Mapping[str, Mapping[Key, float]],
    rule: ProtectionRule | None = None,
    *,
    mode: Mode = "exact",
) -> AuditReport:
    """Audit every release of ``releases`` (all versions of their units).

    ``truth`` holds every cell's true value per release id (hidden cells and sums
    included); it only decides which targets are sensitive, never what the attacker knows.
    """
    rule = rule or ProtectionRule()
    started = time.perf_counter()
    system = System(releases)
    solver = Solver(system)
    pattern = _Pattern(releases)
    findings: list[Finding] = []
    targets = _count_targets(releases, truth, rule)
    if mode == "check":
        targets = [t for t in targets if t.sensitive]
        _seed(system, solver, targets)
    for t in targets:
        parts, constant = system.expression(t.expression)
        if mode == "exact" or not parts:
            interval = solver.interval(parts, constant)
            ok = not t.sensitive or _judge(
                rule, interval, t.floor, t.value, _pattern_floor(pattern, t)
            )
            findings.append(Finding(t.target, interval, t.sensitive, ok, _reason(t, ok, rule)))
            continue
        ok = _check_count(solver, pattern, parts, constant, t, rule)
        findings.append(Finding(t.target, None, True, ok, _reason(t, ok, rule)))
    findings += _mean_findings(system, solver, releases, truth, rule, mode)
    return AuditReport(
        findings,
        rule,
        solves=solver.solves + pattern.solves,
        mip_solves=solver.mip_solves + pattern.mip_solves,
        seconds=time.perf_counter() - started,
        components=len(system.components),
        variables=system.unknowns,
    )


def _count_targets(
    releases: Sequence[Release], truth: Mapping[str, Mapping[Key, float]], rule: ProtectionRule
) -> list[_CountTarget]:
    out: list[_CountTarget] = []
    for release in releases:
        rid = release.release_id
        sums = {spec.sum_key for spec in release.means.values()}
        for key, shown in release.cells.items():
            if key in release.means or key in sums or not isinstance(shown, Marker):
                continue
            if release.kind(key) is not VarKind.COUNT:
                continue
            value = truth[rid][key]
            floor = 1.0 if shown is SUPPRESSED else 0.0
            target = Target(TargetKind.CELL, rid, key)
            sensitive = rule.sensitive(value)
            out.append(_CountTarget(target, [((rid, key), 1.0)], floor, value, sensitive))
    for older, newer in consecutive(releases):
        sums = {spec.sum_key for spec in newer.means.values()}
        for key in newer.cells:
            if key in newer.means or key in sums or key not in older.cells:
                continue
            if newer.kind(key) is not VarKind.COUNT:
                continue
            value = truth[newer.release_id][key] - truth[older.release_id][key]
            target = Target(TargetKind.DELTA, newer.release_id, key, older.release_id)
            expression = [((newer.release_id, key), 1.0), ((older.release_id, key), -1.0)]
            out.append(_CountTarget(target, expression, 0.0, value, rule.sensitive(value)))
    return out


def _pattern_floor(pattern: _Pattern, t: _CountTarget) -> Callable[[], float]:
    return lambda: pattern.floor(t.expression, t.value)


def _seed(system: System, solver: Solver, targets: Sequence[_CountTarget]) -> None:
    """Check mode: per component, one point pushing every sensitive target towards its far
    side and one towards its near side; most targets that pass are then proved by them."""
    far: dict[int, dict[int, float]] = {}
    near: dict[int, dict[int, float]] = {}
    for t in targets:
        parts, _ = system.expression(t.expression)
        sign = 1.0 if t.value >= 0 else -1.0
        for comp, objective in parts.items():
            for local, c in objective.items():
                far.setdefault(comp, {})[local] = far.get(comp, {}).get(local, 0.0) + sign * c
                near.setdefault(comp, {})[local] = near.get(comp, {}).get(local, 0.0) - sign * c
    for comp, objective in far.items():
        if len(objective) >= _SEED_MIN_TARGETS:
            solver.seed(comp, objective, maximise=True)
            solver.seed(comp, near[comp], maximise=True)


class _Pattern:
    """The attacker who sees only which counts are published zeros: every other count of
    every release unknown (>= 1 when non-zero, >= 0 when hidden). Built on first use."""

    def __init__(self, releases: Sequence[Release]):
        self.releases = releases
        self.solver: Solver | None = None
        self.solves = 0
        self.mip_solves = 0

    def floor(self, expression: Sequence[tuple[Ref, float]], value: float) -> float:
        """The least (for a negative change: the greatest) value of ``expression``."""
        if self.solver is None:
            self.solver = Solver(System([_blind(r) for r in self.releases]))
        parts, constant = self.solver.system.expression(expression)
        before = (self.solver.solves, self.solver.mip_solves)
        result = self.solver.bound(parts, constant, "min" if value >= 0 else "max")
        self.solves += self.solver.solves - before[0]
        self.mip_solves += self.solver.mip_solves - before[1]
        return result


def _blind(release: Release) -> Release:
    cells: dict[Key, float | Marker] = {}
    for key, shown in release.cells.items():
        if key in release.means:
            cells[key] = SUPPRESSED
        elif isinstance(shown, Marker):
            cells[key] = shown
        elif release.kind(key) is VarKind.COUNT and shown != 0:
            cells[key] = SUPPRESSED
        else:
            cells[key] = shown
    return release.with_cells(cells)


def _judge(
    rule: ProtectionRule,
    interval: Interval,
    floor: float,
    value: float,
    pattern_floor: Callable[[], float],
) -> bool:
    """The count rule on an exact interval; the pattern floor only when the plain one fails."""
    if rule.protects(interval, floor, value):
        return True
    if value >= 0 and interval.high < rule.far_goal(value) - TOLERANCE:
        return False
    if value < 0 and interval.low > rule.far_goal(value) + TOLERANCE:
        return False
    return rule.protects(interval, pattern_floor(), value)


def _check_count(
    solver: Solver,
    pattern: _Pattern,
    parts: Mapping[int, Mapping[int, float]],
    constant: float,
    t: _CountTarget,
    rule: ProtectionRule,
) -> bool:
    """Check mode: decide the rule for one sensitive target with as few solves as possible."""
    up = t.value >= 0
    far_goal = rule.far_goal(t.value)
    far = solver.bound(parts, constant, "max" if up else "min", stop_at=far_goal)
    if (far < far_goal - TOLERANCE) if up else (far > far_goal + TOLERANCE):
        return False
    near_goal = rule.near_goal(t.value, t.floor)
    near = solver.bound(parts, constant, "min" if up else "max", stop_at=near_goal)
    if (near <= near_goal + TOLERANCE) if up else (near >= near_goal - TOLERANCE):
        return True
    near = solver.bound(parts, constant, "min" if up else "max")  # exact
    near_goal = rule.near_goal(t.value, pattern.floor(t.expression, t.value))
    return (near <= near_goal + TOLERANCE) if up else (near >= near_goal - TOLERANCE)


def _mean_findings(
    system: System,
    solver: Solver,
    releases: Sequence[Release],
    truth: Mapping[str, Mapping[Key, float]],
    rule: ProtectionRule,
    mode: Mode,
) -> list[Finding]:
    findings: list[Finding] = []
    for release in releases:
        rid = release.release_id
        for mean_key, spec in release.means.items():
            if not isinstance(release.cells.get(mean_key, SUPPRESSED), Marker):
                continue
            n = truth[rid][spec.count_key]
            sensitive = rule.sensitive(n)
            if mode == "check" and not sensitive:
                continue
            target = Target(TargetKind.MEAN, rid, mean_key)
            if n <= 0:
                findings.append(Finding(target, None, False, True, "no answers: nothing to hide"))
                continue
            # Worst case: the attacker knows n exactly; the mean interval is the sum's over n.
            parts, constant = system.expression([((rid, spec.sum_key), 1.0)])
            fix: dict[int, dict[int, float]] = {}
            count_ref = (rid, spec.count_key)
            if count_ref not in system.constant:
                v = system.index[count_ref]
                comp = system.component_of[v]
                if comp in parts:
                    fix[comp] = {system.components[comp].local[v]: n}
            interval = solver.interval(parts, constant, fix)
            mean = Interval(interval.low / n, interval.high / n)
            ok = not sensitive or rule.protects_mean(mean)
            reason = _mean_reason(sensitive, ok, rule)
            findings.append(Finding(target, mean, sensitive, ok, reason))
    return findings


def _reason(t: _CountTarget, ok: bool, rule: ProtectionRule) -> str:
    """Why a count target is (not) fine: the rule, never a value."""
    if not t.sensitive:
        return "not a small count: no protection needed"
    what = "small change between releases" if t.target.kind is TargetKind.DELTA else "small count"
    if ok:
        return f"{what}: protected"
    return f"{what}: derivable to an interval that does not reach from its floor to " + str(
        rule.threshold + 1
    )


def _mean_reason(sensitive: bool, ok: bool, rule: ProtectionRule) -> str:
    if not sensitive:
        return f"mean of more than {rule.threshold} answers: no protection needed"
    what = f"mean of 1-{rule.threshold} answers"
    return f"{what}: protected" if ok else f"{what}: derivable to less than {rule.mean_width:g}"
