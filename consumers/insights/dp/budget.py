"""The privacy budget of differentially private releases, per life experience and week.

zCDP losses add up: two releases of the same week spend ``rho_1 + rho_2``; weeks hold
disjoint journeys (a journey belongs to the week it started in), so they do not add up
across weeks (parallel composition). The :class:`BudgetLedger` records every charge in one
JSON file of the state directory, written atomically (``broker.files.write_atomic``) under
an exclusive lock, so the budget holds across restarts and concurrent processes. A release
is charged **before** any noise is drawn: a crash after the charge loses budget, never
privacy; a release that would exceed the limit is refused (:class:`BudgetExceeded`), and
so is a second charge for the same release id (a re-send must re-send the recorded noisy
values, never draw new noise).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from broker.files import write_atomic
from consumers.errors import BudgetExceeded

__all__ = ["BudgetLedger"]

_FORMAT = 1


class BudgetLedger:
    """Privacy budget (zCDP rho) per (life experience, week), persisted in one file."""

    def __init__(self, path: Path):
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self._lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self._read()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"format": _FORMAT, "budgets": {}}
        data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            raise ValueError(f"{self.path} is not a privacy budget ledger of format {_FORMAT}")
        return data

    @staticmethod
    def _key(life_experience: str, period: str) -> str:
        return f"{life_experience}|{period}"

    def spent(self, life_experience: str, period: str) -> float:
        """rho charged so far to (life experience, period)."""
        with self._locked() as data:
            entry = data["budgets"].get(self._key(life_experience, period), {})
            return float(sum(c["rho"] for c in entry.get("charges", [])))

    def charge(
        self, life_experience: str, period: str, release: str, rho: float, limit: float
    ) -> float:
        """Record ``rho`` for ``release``; refuse it when it would exceed ``limit`` (the
        first limit recorded for a period binds) or was charged before. Returns what is
        left."""
        if rho <= 0 or not math.isfinite(rho):
            raise ValueError("rho must be positive and finite")
        with self._locked() as data:
            entry = data["budgets"].setdefault(
                self._key(life_experience, period), {"limit": limit, "charges": []}
            )
            limit = min(limit, float(entry["limit"]))
            if any(c["release"] == release for c in entry["charges"]):
                raise BudgetExceeded(f"release {release} was charged already: re-send it")
            spent = sum(float(c["rho"]) for c in entry["charges"])
            if spent + rho > limit * (1 + 1e-12):
                raise BudgetExceeded(
                    f"{life_experience} {period}: a release needs rho {rho:.4g}, "
                    f"{max(0.0, limit - spent):.4g} of {limit:.4g} is left: refused"
                )
            entry["charges"].append(
                {"release": release, "rho": rho, "at": datetime.now(UTC).isoformat()}
            )
            write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True).encode())
            return limit - spent - rho
