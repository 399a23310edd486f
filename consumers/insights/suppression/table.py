"""The table model shared by the checker and the chooser: keys, margins, the small-cell rule.

A *table* is a set of counts addressed by hashable keys. Some keys are *totals*: a
published total equals the sum of its parts (``margins``: ``(total, parts)`` pairs). This is
the whole linear structure an outsider can use; the aggregation states which totals it
publishes (see :mod:`consumers.insights.aggregate.tables`), and this package is agnostic of
it.

Every key is in one of three states towards an outsider:

* **published**: the exact value is shown;
* **suppressed**: shown as suppressed (``None``). Zeros are never suppressed, so an outsider
  knows a suppressed value is at least 1 — the checker uses that;
* **hidden**: never published at all (for example "journeys still active", which has no
  metric of its own but is ``started - completed - stalled - expired``). A hidden value may
  be 0. A hidden key takes part in the arithmetic like any other.

The rule (DOMAIN.md, CMS cell-size rule): no value from 1 to :data:`SMALL_CELL_MAX` may be
shown or *derivable*.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

from consumers.errors import InconsistentTable
from contracts.joined import SMALL_CELL_MAX

__all__ = ["K", "Margin", "check_table", "index_equations", "is_small", "to_equations"]

K = TypeVar("K", bound=Hashable)

#: One published total and the parts it is the sum of. A key may be the total of several
#: margins (a row total of a day is also a part of the week's row total).
Margin = tuple[K, Sequence[K]]


def is_small(count: int, threshold: int = SMALL_CELL_MAX) -> bool:
    """True for a count that must never be shown: 1..threshold (0 is not sensitive)."""
    return 1 <= count <= threshold


def to_equations(margins: Iterable[Margin[K]]) -> list[dict[K, int]]:
    """``total - sum(parts) = 0`` as coefficient maps."""
    result: list[dict[K, int]] = []
    for total, parts in margins:
        equation: dict[K, int] = {total: 1}
        for part in parts:
            if part == total or part in equation:
                raise InconsistentTable("a total lists itself or one part twice")
            equation[part] = -1
        result.append(equation)
    return result


def index_equations(equations: Sequence[Mapping[K, int]]) -> dict[K, list[int]]:
    """Key -> the indices of the equations it occurs in."""
    equations_of: dict[K, list[int]] = {}
    for index, equation in enumerate(equations):
        for key in equation:
            equations_of.setdefault(key, []).append(index)
    return equations_of


def check_table(counts: Mapping[K, int], margins: Sequence[Margin[K]]) -> None:
    """Raise :class:`InconsistentTable` unless every count is >= 0 and every total adds up."""
    if any(value < 0 for value in counts.values()):
        raise InconsistentTable("a count is negative")
    for total, parts in margins:
        if total not in counts or any(part not in counts for part in parts):
            raise InconsistentTable("a total or part has no count")
        if counts[total] != sum(counts[part] for part in parts):
            raise InconsistentTable("a total is not the sum of its parts")
