"""The disclosure-risk section of the demo's HTML report: before (fine) and after (k-protected)."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence

from broker.settings import Settings
from consumers.privacy.risk import SIZE_BANDS, RiskReport, TimePrecision
from consumers.privacy.scan import Scan, read_streams
from consumers.privacy.utility import Utility, utility_of_fine, utility_of_protected
from contracts.catalog import Catalog

__all__ = ["disclosure_section", "risk_section"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _risk_rows(reports: Mapping[str, RiskReport]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in reports)
    rows = [f"<tr><th>figure</th>{head}</tr>"]

    def row(label: str, cells: Sequence[str]) -> None:
        tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        rows.append(f"<tr><th>{html.escape(label)}</th>{tds}</tr>")

    items = list(reports.values())
    row("journeys", [str(r.journeys) for r in items])
    row("unique journeys", [_pct(r.unique_share) for r in items])
    row("journeys in groups smaller than k", [_pct(r.below_k_share) for r in items])
    row("smallest group", [str(r.smallest_group) for r in items])
    for label, _low, _high in SIZE_BANDS:
        row(f"journeys in groups of {label}", [str(r.bands[label]) for r in items])
    for name in sorted({f for r in items for f in r.fields}):
        row(
            f"unique without {name}",
            [_pct(r.unique_without[name]) if name in r.unique_without else "-" for r in items],
        )
    return "".join(rows)


def _utility_rows(fine: Utility, protected: Utility) -> str:
    def top(u: Utility) -> str:
        if not u.stalls:
            return "none shown"
        name, count = max(u.stalls.items(), key=lambda kv: (kv[1], kv[0]))
        return f"{name} ({count})"

    def top_handoff(u: Utility) -> str:
        if not u.handoffs:
            return "none shown"
        name, count = max(u.handoffs.items(), key=lambda kv: (kv[1], kv[0]))
        return f"{name} ({count})"

    pairs = [
        ("journeys no longer active", str(fine.journeys), str(protected.journeys)),
        ("completion rate", _pct(fine.completion_rate), _pct(protected.completion_rate)),
        (
            "median days to complete",
            _num(fine.median_days_to_complete),
            f"{_num(protected.median_days_to_complete)} (over {protected.completed_with_days} "
            f"of {protected.completed} completed)",
        ),
        (
            "journeys whose agency path (hand-offs) is shown",
            str(fine.paths_shown),
            str(protected.paths_shown),
        ),
        ("most frequent hand-off", top_handoff(fine), top_handoff(protected)),
        ("hand-off with most stalls", top(fine), top(protected)),
        (
            "stalls whose hand-off is not shown",
            str(fine.stalls_not_shown),
            str(protected.stalls_not_shown),
        ),
    ]
    head = "<tr><th>question</th><th>fine (restricted)</th><th>protected (default)</th></tr>"
    body = "".join(
        f"<tr><th>{html.escape(q)}</th><td>{html.escape(a)}</td><td>{html.escape(b)}</td></tr>"
        for q, a, b in pairs
    )
    return head + body


def risk_section(scan: Scan, k: int, order: Mapping[str, Sequence[str]]) -> str:
    """The section: risk figures per stream, precisions released at, and utility."""
    reports: dict[str, RiskReport] = {}
    for precision in (TimePrecision.SECOND, TimePrecision.DAY, TimePrecision.MONTH):
        if scan.fine:
            reports[f"fine, {precision.value}s"] = scan.fine_report(precision, k)
    reports["protected (as published)"] = scan.protected_report(k)
    precisions = Counter(r.precision.value for r in scan.protected.values())
    released = ", ".join(f"{name}: {count}" for name, count in precisions.most_common())
    fine = utility_of_fine(scan.fine.values(), order)
    protected = utility_of_protected(scan.protected.values(), order)
    return f"""
<section id="disclosure-risk">
  <h2>Disclosure risk of the journey streams (k = {k})</h2>
  <p>Quasi-identifiers a reader could know: life experience, agencies in order, stages,
  the time of the first event at each agency and the status (fine journeys, restricted
  tier); every published field but token and version (k-protected journeys, default tier).
  A journey alone in its group can be singled out by anyone who knows these values.</p>
  <table class="risk">{_risk_rows(reports)}</table>
  <p>Protected journeys by the precision they were released at: {html.escape(released or "none")}.
  Journeys not shown there are withheld until their group reaches k.</p>
  <h3>What the default tier loses</h3>
  <table class="utility">{_utility_rows(fine, protected)}</table>
</section>"""


async def disclosure_section(settings: Settings, catalog: Catalog) -> tuple[str, str]:
    """Read both journey streams of every life experience (``settings`` must be allowed to:
    the restricted tier) and return the report section and a one-line summary."""
    ids = [le.id for le in catalog.life_experiences]
    scan = await read_streams(settings, ids, fine=True, protected=True)
    k = min(le.min_group_size for le in catalog.life_experiences)
    before = scan.fine_report(TimePrecision.SECOND, k)
    after = scan.protected_report(k)
    line = (
        f"disclosure risk: {100 * before.unique_share:.1f} % of {before.journeys} fine "
        f"journeys unique; {after.journeys} k-protected journeys released (k={k}), "
        f"{100 * after.unique_share:.1f} % unique, smallest group {after.smallest_group}"
    )
    order = {le.id: le.agencies for le in catalog.life_experiences}
    return risk_section(scan, k, order), line
