"""Exact bounds of linear expressions over the attacker's system, solved by HiGHS.

Why HiGHS through ``highspy``: it is the LP/MILP solver SciPy ships (``linprog``,
``milp``), maintained by its authors, and its own bindings keep a model alive between
objectives: the audit solves thousands of objectives over the same constraints, and a warm
dual-simplex basis makes each a few pivots, where a fresh ``scipy.optimize.milp`` call per
objective rebuilds the model every time. No hand-written solver decides a release.

Per component, integral solutions seen so far are kept as *witnesses* (feasible integer
points of the attacker's system). A bound is the LP bound when the LP optimum is integral,
or when a witness attains the LP bound rounded down; only otherwise is the MILP solved (with
a zero gap: the bound is exact). An LP bound beyond ``CAP / 2`` means unbounded. In *check*
mode a bound is only needed up to a goal (the rule's far or near value): a witness already
past it decides without a solve, and a feasibility MILP (the goal as a row, no objective)
stops at its first integer point.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from typing import Literal

import highspy
import numpy as np

from consumers.errors import InconsistentRelease
from consumers.insights.audit.model import TOLERANCE, Interval
from consumers.insights.audit.system import CAP, Component, FloatArray, System

__all__ = ["Solver"]

Direction = Literal["min", "max"]


def _new_highs() -> highspy.Highs:
    """A HiGHS instance. Its constructor prints a banner to the process's stdout (the C
    file descriptor, before any option can say otherwise); the CLI's tables and the
    services' one-line summaries must not carry it, so fd 1 points at /dev/null meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


class _Highs:
    """HiGHS on one component: an LP instance kept warm across objectives, and a MIP
    instance built only when an LP optimum is not integral."""

    def __init__(self, comp: Component):
        self.comp = comp
        self.lp = self._instance(integral=False)
        self.mip: highspy.Highs | None = None
        self.columns = np.arange(comp.size, dtype=np.int32)

    def _instance(self, integral: bool) -> highspy.Highs:
        comp = self.comp
        h = _new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        if integral:
            h.setOptionValue("mip_rel_gap", 0.0)
            h.setOptionValue("mip_abs_gap", 0.0)
        else:
            h.setOptionValue("presolve", "off")  # keeps the basis warm between objectives
        lp = highspy.HighsLp()
        lp.num_col_ = comp.size
        lp.col_cost_ = np.zeros(comp.size)
        lp.col_lower_ = comp.lower
        lp.col_upper_ = comp.upper
        lp.num_row_ = comp.rows
        lp.row_lower_ = comp.row_lower
        lp.row_upper_ = comp.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = comp.start
        lp.a_matrix_.index_ = comp.index
        lp.a_matrix_.value_ = comp.value
        lp.a_matrix_.num_col_ = comp.size
        lp.a_matrix_.num_row_ = comp.rows
        if integral:
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                for i in comp.integral
            ]
        h.passModel(lp)
        return h

    def relaxed(
        self, cost: FloatArray, maximise: bool, fix: Mapping[int, float] | None
    ) -> tuple[float, FloatArray]:
        """The LP relaxation's optimum and solution."""
        return self._run(self.lp, cost, maximise, fix)

    def integer(
        self, cost: FloatArray, maximise: bool, fix: Mapping[int, float] | None
    ) -> tuple[float, FloatArray]:
        """The MILP optimum (zero gap) and solution."""
        if self.mip is None:
            self.mip = self._instance(integral=True)
        return self._run(self.mip, cost, maximise, fix)

    def reach(self, cost: FloatArray, maximise: bool, goal: float) -> FloatArray | None:
        """An integer point with ``cost @ x >= goal`` (``<=`` when minimising), or None."""
        if self.mip is None:
            self.mip = self._instance(integral=True)
        h = self.mip
        nonzero = np.flatnonzero(cost).astype(np.int32)
        low, high = (goal, highspy.kHighsInf) if maximise else (-highspy.kHighsInf, goal)
        h.addRow(low, high, len(nonzero), nonzero, cost[nonzero])
        row = h.getNumRow() - 1
        try:
            h.changeColsCost(len(cost), self.columns, np.zeros(len(cost)))
            h.run()
            status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kInfeasible:
                return None
            if status != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"the solver failed: {h.modelStatusToString(status)}")
            return np.asarray(h.getSolution().col_value, dtype=np.float64)
        finally:
            h.deleteRows(1, np.array([row], dtype=np.int32))

    def _run(
        self, h: highspy.Highs, cost: FloatArray, maximise: bool, fix: Mapping[int, float] | None
    ) -> tuple[float, FloatArray]:
        h.changeColsCost(len(cost), self.columns, cost)
        sense = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
        h.changeObjectiveSense(sense)
        for local, value in (fix or {}).items():
            h.changeColBounds(local, value, value)
        h.run()
        status = h.getModelStatus()
        for local in fix or {}:
            h.changeColBounds(local, self.comp.lower[local], self.comp.upper[local])
        if status == highspy.HighsModelStatus.kInfeasible:
            raise InconsistentRelease("the published values admit no solution")
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"the solver failed: {h.modelStatusToString(status)}")
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        # From the solution: the reported objective can be stale after bound changes.
        return float(cost @ x), x


class Solver:
    """Bounds of linear expressions over the components of a :class:`System` (module
    docstring)."""

    def __init__(self, system: System):
        self.system = system
        self.solves = 0
        self.mip_solves = 0
        self.highs: dict[int, _Highs] = {}
        self.witnesses: dict[int, list[FloatArray]] = {}

    def _instance(self, comp: int) -> _Highs:
        if comp not in self.highs:
            self.highs[comp] = _Highs(self.system.components[comp])
        return self.highs[comp]

    def _cost(self, comp: int, objective: Mapping[int, float]) -> FloatArray:
        c = np.zeros(self.system.components[comp].size)
        for local, coefficient in objective.items():
            c[local] = coefficient
        return c

    def _integral_objective(self, comp: int, objective: Mapping[int, float]) -> bool:
        integral = self.system.components[comp].integral
        return all(bool(integral[i]) and float(c).is_integer() for i, c in objective.items())

    def _is_integral(self, comp: int, x: FloatArray) -> bool:
        mask = self.system.components[comp].integral
        return bool(np.all(np.abs(x[mask] - np.round(x[mask])) <= TOLERANCE))

    def _witness(self, comp: int, x: FloatArray) -> None:
        self.witnesses.setdefault(comp, []).append(x)

    def seen(self, comp: int, objective: Mapping[int, float]) -> tuple[float, float] | None:
        """The smallest and largest value of the objective over the witnesses."""
        witnesses = self.witnesses.get(comp)
        if not witnesses:
            return None
        values = np.stack(witnesses) @ self._cost(comp, objective)
        return float(values.min()), float(values.max())

    def optimise(
        self,
        comp: int,
        objective: Mapping[int, float],
        direction: Direction,
        fix: Mapping[int, float] | None = None,
        stop_at: float | None = None,
    ) -> float:
        """The exact optimum; with ``stop_at``, any value at least as good as ``stop_at``
        may be returned instead (enough to decide a rule)."""
        maximise = direction == "max"

        def better(a: float, b: float) -> bool:
            return a >= b - TOLERANCE if maximise else a <= b + TOLERANCE

        integral_objective = self._integral_objective(comp, objective)
        if not fix and stop_at is not None:
            seen = self.seen(comp, objective)
            if seen is not None and better(seen[1] if maximise else seen[0], stop_at):
                return seen[1] if maximise else seen[0]
        highs = self._instance(comp)
        cost = self._cost(comp, objective)
        self.solves += 1
        value, x = highs.relaxed(cost, maximise, fix)
        if abs(value) >= CAP / 2:
            return math.copysign(math.inf, value)
        if integral_objective:
            value = math.floor(value + TOLERANCE) if maximise else math.ceil(value - TOLERANCE)
        if stop_at is not None and not better(value, stop_at):
            return value  # even the relaxation cannot reach it: decided
        if self._is_integral(comp, x):
            if not fix:
                self._witness(comp, x)
            return float(round(value)) if integral_objective else value
        if integral_objective and not fix:
            seen = self.seen(comp, objective)
            if seen is not None and abs((seen[1] if maximise else seen[0]) - value) <= TOLERANCE:
                return value
        self.mip_solves += 1
        if stop_at is not None and not fix:
            point = highs.reach(cost, maximise, stop_at)
            if point is None:
                return stop_at - 1 if maximise else stop_at + 1  # the optimum falls short
            self._witness(comp, point)
            return float(cost @ point)
        value, x = highs.integer(cost, maximise, fix)
        if not fix:
            self._witness(comp, x)
        return float(round(value)) if integral_objective else value

    def seed(self, comp: int, objective: Mapping[int, float], maximise: bool) -> None:
        """One integer point pushing many targets at once (their sum) becomes a witness."""
        highs = self._instance(comp)
        cost = self._cost(comp, objective)
        self.solves += 1
        _, x = highs.relaxed(cost, maximise, None)
        if not self._is_integral(comp, x):
            self.mip_solves += 1
            _, x = highs.integer(cost, maximise, None)
        self._witness(comp, x)

    def bound(
        self,
        parts: Mapping[int, Mapping[int, float]],
        constant: float,
        direction: Direction,
        fix: Mapping[int, Mapping[int, float]] | None = None,
        stop_at: float | None = None,
    ) -> float:
        """min or max of ``constant + sum of parts`` (independent components add up)."""
        value = constant
        single = len(parts) == 1
        for comp, objective in parts.items():
            pinned = (fix or {}).get(comp)
            goal = None if stop_at is None or not single else stop_at - constant
            value += self.optimise(comp, objective, direction, pinned, goal)
        if value >= CAP - 0.5:
            return math.inf
        if value <= -(CAP - 0.5):
            return -math.inf
        return value

    def interval(
        self,
        parts: Mapping[int, Mapping[int, float]],
        constant: float,
        fix: Mapping[int, Mapping[int, float]] | None = None,
    ) -> Interval:
        """The exact ``[min, max]`` of an expression."""
        return Interval(
            self.bound(parts, constant, "min", fix), self.bound(parts, constant, "max", fix)
        )
