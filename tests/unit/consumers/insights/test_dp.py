"""``--privacy dp``: the noise is OpenDP's discrete Gaussian at the planned scale, and the
budget per life experience and week is enforced, across restarts too."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime
from pathlib import Path

import pytest

from consumers.errors import BudgetExceeded
from consumers.insights.dp import BudgetLedger, gaussian, release_dp_week
from consumers.insights.dp.plan import next_dp_release
from contracts.catalog import load_catalog
from tests.support.snapshots import random_week

LE = "recovering-from-a-disaster"
WEEK = "2026-W10"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_noise_is_centred_with_the_planned_spread() -> None:
    mechanism = gaussian(sensitivity_l2=1.0, rho=0.5)
    # zCDP: a Gaussian of scale sigma at L2 sensitivity 1 has rho = 1 / (2 sigma^2).
    assert mechanism.scale == pytest.approx(1.0, rel=0.01)
    samples = [v - 100 for v in mechanism([100] * 20_000)]
    mean, spread = statistics.fmean(samples), statistics.pstdev(samples)
    # Tolerances of about 8 standard errors: a false alarm is far below 1 in a billion.
    assert abs(mean) < 8 * mechanism.scale / math.sqrt(len(samples))
    assert abs(spread - mechanism.scale) < 0.05 * mechanism.scale
    inside = sum(abs(v) <= mechanism.half_width() for v in samples) / len(samples)
    assert inside >= 0.94  # the stated 95% error bar covers at least 95% (conservative)


def test_a_larger_budget_means_less_noise() -> None:
    assert gaussian(2.0, 1.0).scale < gaussian(2.0, 0.25).scale


def test_the_budget_is_enforced_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "budget.json"
    BudgetLedger(path).charge(LE, WEEK, "2026-W10.dp1", 0.5, limit=1.0)
    restarted = BudgetLedger(path)  # a new process reads the same file
    assert restarted.spent(LE, WEEK) == pytest.approx(0.5)
    with pytest.raises(BudgetExceeded, match="charged already"):
        restarted.charge(LE, WEEK, "2026-W10.dp1", 0.5, limit=1.0)
    restarted.charge(LE, WEEK, "2026-W10.dp2", 0.5, limit=1.0)
    with pytest.raises(BudgetExceeded, match="refused"):
        BudgetLedger(path).charge(LE, WEEK, "2026-W10.dp3", 0.1, limit=5.0)  # first limit binds
    assert BudgetLedger(path).spent(LE, "2026-W11") == 0.0  # weeks do not share a budget


def test_a_release_beyond_the_budget_is_refused_before_any_noise(tmp_path: Path) -> None:
    disaster = load_catalog().life_experience(LE)
    ledger = BudgetLedger(tmp_path / "budget.json")
    week = random_week(80, seed=3, final=True)
    first = next_dp_release(WEEK, week, disaster, [], ledger, now=NOW, rho=0.6, rho_limit=1.0)
    assert first is not None and first.manifest.privacy.value == "dp"
    assert all(c.error_95 is not None or c.suppressed for c in first.published)
    changed = random_week(81, seed=3, final=True)
    with pytest.raises(BudgetExceeded):
        next_dp_release(WEEK, changed, disaster, [first], ledger, now=NOW, rho=0.6, rho_limit=1.0)
    assert ledger.spent(LE, WEEK) == pytest.approx(0.6)


def test_dp_counts_carry_error_bars_and_stay_near_the_truth() -> None:
    disaster = load_catalog().life_experience(LE)
    week = random_week(300, seed=5, final=True)
    noisy = release_dp_week(WEEK, week, disaster, rho=0.5)
    total = next(
        c
        for c in noisy.cells
        if c.metric.value == "journeys-started" and c.agency is None and c.stage is None
    )
    assert total.value is not None and total.error_95 is not None
    assert abs(total.value - 300) <= 6 * total.error_95  # far beyond 95%: cannot flake
