"""Run summaries and a self-contained HTML report from joined journeys (pure).

Figures per life experience, from the latest :class:`~contracts.joined.JourneySnapshot`
of every journey:

* journeys, completed journeys and the completion rate;
* median days to complete (over completed journeys);
* the agency hand-off where most journeys stall: journeys closed without completing
  (stalled or expired), at the hand-off from their last agency to the next one they never
  reached (:func:`consumers.insights.aggregate.handoff_of`);
* A-11 driver means by agency: over the journeys that touched the agency and answered,
  each journey's own average weighing one (the same population as the insights'
  ``(agency, *)`` cells);
* agency-to-agency hand-offs (consecutive agencies in the order a journey reached them)
  and the distribution of days to complete, for the charts.

Small cells: any count from 1 to :data:`~contracts.joined.SMALL_CELL_MAX` is shown as
``None`` (rendered ``*``), and so is every statistic computed from such a count. The
summary publishes no totals that would let a suppressed count be derived.
"""

from __future__ import annotations

import html
import itertools
import json
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from consumers.insights.aggregate import handoff_of, latest_snapshots
from contracts.catalog import Catalog, load_catalog
from contracts.joined import SMALL_CELL_MAX, JourneySnapshot
from contracts.vocabulary import JourneyStatus

__all__ = [
    "DRIVERS",
    "LifeExperienceSummary",
    "RunReport",
    "render_html",
    "summarize",
]

#: The A-11 drivers the report shows (a subset keeps the chart readable).
DRIVERS: tuple[str, ...] = ("satisfaction", "trust", "ease", "efficiency")

#: Upper bounds (days) of the time-to-complete histogram bins; the last bin is open.
DAY_BINS: tuple[int, ...] = (7, 14, 30, 60, 90, 120, 180)

_SECONDS_PER_DAY = 86_400.0


def _shown(count: int) -> int | None:
    """A count as it may be shown: None for 1..SMALL_CELL_MAX."""
    return None if 1 <= count <= SMALL_CELL_MAX else count


@dataclass(frozen=True)
class LifeExperienceSummary:
    """The demo's figures for one life experience (None = suppressed small cell)."""

    life_experience: str
    title: str
    journeys: int | None
    completed: int | None
    completion_rate: float | None
    median_days_to_complete: float | None
    top_stall_handoff: tuple[str, str | None] | None
    top_stall_count: int | None
    #: agency -> driver -> (mean or None, respondents or None)
    drivers: dict[str, dict[str, tuple[float | None, int | None]]]
    #: (from agency, to agency, journeys or None)
    handoffs: list[tuple[str, str, int | None]]
    #: (bin label, journeys or None)
    days_to_complete: list[tuple[str, int | None]]
    agencies: list[str] = field(default_factory=list)


def _bin_label(index: int) -> str:
    low = 0 if index == 0 else DAY_BINS[index - 1]
    if index == len(DAY_BINS):
        return f"{low}+"
    return f"{low}-{DAY_BINS[index]}"


def _days_histogram(days: Sequence[float]) -> list[tuple[str, int | None]]:
    counts = [0] * (len(DAY_BINS) + 1)
    for value in days:
        index = next((i for i, bound in enumerate(DAY_BINS) if value < bound), len(DAY_BINS))
        counts[index] += 1
    return [(_bin_label(i), _shown(n)) for i, n in enumerate(counts)]


def _driver_means(
    journeys: Sequence[JourneySnapshot], agencies: Sequence[str]
) -> dict[str, dict[str, tuple[float | None, int | None]]]:
    result: dict[str, dict[str, tuple[float | None, int | None]]] = {}
    for agency in agencies:
        touched = [j for j in journeys if any(step.agency == agency for step in j.agencies)]
        per_driver: dict[str, tuple[float | None, int | None]] = {}
        for driver in DRIVERS:
            answers = [value for j in touched if (value := getattr(j.drivers, driver)) is not None]
            shown = _shown(len(answers))
            mean = round(statistics.fmean(answers), 3) if answers and shown is not None else None
            per_driver[driver] = (mean, shown)
        result[agency] = per_driver
    return result


def _summarize_one(
    life_experience_id: str, journeys: list[JourneySnapshot], catalog: Catalog
) -> LifeExperienceSummary:
    life_experience = catalog.life_experience(life_experience_id)
    agencies = list(life_experience.agencies)
    completed = [j for j in journeys if j.status is JourneyStatus.COMPLETED]
    n_journeys = _shown(len(journeys))
    n_completed = _shown(len(completed))
    rate = (
        round(len(completed) / len(journeys), 4)
        if n_journeys and n_completed is not None and journeys
        else None
    )
    days = [j.elapsed_seconds / _SECONDS_PER_DAY for j in completed]
    median = round(statistics.median(days), 2) if days and n_completed else None

    # Where journeys stop short: every journey closed without completing (stalled with an
    # application pending, or expired) counts at the hand-off from the agency of its last
    # event to the next participating agency it never reached.
    stalls: Counter[tuple[str, str | None]] = Counter(
        handoff_of(j, life_experience)
        for j in journeys
        if j.status in (JourneyStatus.STALLED, JourneyStatus.EXPIRED)
    )
    top: tuple[str, str | None] | None = None
    top_count: int | None = 0  # 0: no journey stopped short
    if stalls:
        # most stalls first, ties broken by name so the result is deterministic
        (top, raw), *_ = sorted(stalls.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or ""))
        top_count = _shown(raw)
        if top_count is None:
            top = None

    flows: Counter[tuple[str, str]] = Counter()
    for journey in journeys:
        steps = [step.agency for step in journey.agencies]
        flows.update(itertools.pairwise(steps))
    handoffs = [(a, b, _shown(n)) for (a, b), n in sorted(flows.items())]

    return LifeExperienceSummary(
        life_experience=life_experience_id,
        title=life_experience.display_name,
        journeys=n_journeys,
        completed=n_completed,
        completion_rate=rate,
        median_days_to_complete=median,
        top_stall_handoff=top,
        top_stall_count=top_count,
        drivers=_driver_means(journeys, agencies),
        handoffs=handoffs,
        days_to_complete=_days_histogram(days),
        agencies=agencies,
    )


def summarize(
    snapshots: Iterable[JourneySnapshot], catalog: Catalog | None = None
) -> list[LifeExperienceSummary]:
    """Figures per life experience (catalog order) from every snapshot seen on the topics."""
    catalog = catalog or load_catalog()
    latest = latest_snapshots(snapshots)
    by_le: dict[str, list[JourneySnapshot]] = {le.id: [] for le in catalog.life_experiences}
    for snapshot in latest:
        by_le.setdefault(snapshot.life_experience, []).append(snapshot)
    return [_summarize_one(le, journeys, catalog) for le, journeys in by_le.items()]


@dataclass(frozen=True)
class RunReport:
    """What the demo ran, for the report header."""

    journeys_simulated: int
    seed: int
    events_published: int
    dead_letters: int
    seconds: float
    kafka: str
    generated_at: datetime


# ----------------------------------------------------------------- HTML rendering

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def _fmt(value: float | int | None, suffix: str = "") -> str:
    if value is None:
        return "*"
    if isinstance(value, float):
        return f"{value:.2f}{suffix}"
    return f"{value}{suffix}"


def _sankey_svg(summary: LifeExperienceSummary) -> str:
    """Agencies as columns in catalog order; a band per hand-off, width by journeys."""
    agencies = summary.agencies or sorted({a for a, _, _ in summary.handoffs})
    shown = [(a, b, n) for a, b, n in summary.handoffs if n is not None]
    width, height, node_w = 720, 260, 14
    if not agencies:
        return "<svg></svg>"
    step = (width - 2 * node_w - 40) / max(1, len(agencies) - 1)
    x = {a: 20 + i * step for i, a in enumerate(agencies)}
    biggest = max((n for _, _, n in shown), default=1)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="hand-offs between agencies">'
    ]
    for i, (a, b, n) in enumerate(shown):
        if a not in x or b not in x:
            continue
        y1 = 40 + (i % 6) * 30
        y2 = 40 + ((i + 2) % 6) * 30
        thickness = max(1.5, 24 * n / biggest)
        x1, x2 = x[a] + node_w, x[b]
        mid = (x1 + x2) / 2
        colour = _PALETTE[agencies.index(a) % len(_PALETTE)]
        parts.append(
            f'<path d="M{x1:.0f},{y1} C{mid:.0f},{y1} {mid:.0f},{y2} {x2:.0f},{y2}" '
            f'stroke="{colour}" stroke-opacity="0.45" stroke-width="{thickness:.1f}" '
            f'fill="none"><title>{html.escape(a)} → {html.escape(b)}: {n}</title></path>'
        )
    for a in agencies:
        parts.append(
            f'<rect x="{x[a]:.0f}" y="20" width="{node_w}" height="{height - 50}" fill="#444"/>'
            f'<text x="{x[a]:.0f}" y="{height - 10}" font-size="12">{html.escape(a)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _bars_svg(
    values: Sequence[tuple[str, float | None]], max_value: float, unit: str, *, counts: bool = False
) -> str:
    width, bar_h, gap = 520, 18, 6
    height = len(values) * (bar_h + gap) + 10
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img">']
    for i, (label, value) in enumerate(values):
        y = 5 + i * (bar_h + gap)
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{html.escape(label)}</text>')
        if value is None:
            parts.append(f'<text x="170" y="{y + 13}" font-size="12">* (suppressed)</text>')
            continue
        w = 0 if max_value <= 0 else (width - 240) * value / max_value
        parts.append(
            f'<rect x="170" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#1f77b4"/>'
            f'<text x="{175 + w:.0f}" y="{y + 13}" font-size="12">'
            f"{_fmt(int(value) if counts else value)}{unit}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _chart_data(summaries: Sequence[LifeExperienceSummary]) -> dict[str, object]:
    return {s.life_experience: asdict(s) for s in summaries}


def render_html(summaries: Sequence[LifeExperienceSummary], run: RunReport) -> str:
    """One self-contained HTML page: tables and inline SVG charts, data embedded as JSON."""
    sections = []
    for s in summaries:
        hist = [(label, None if n is None else float(n)) for label, n in s.days_to_complete]
        hist_max = max((v for _, v in hist if v is not None), default=0.0)
        driver_rows = []
        for agency, drivers in s.drivers.items():
            cells = "".join(f"<td>{_fmt(mean)}</td>" for mean, _ in drivers.values())
            driver_rows.append(f"<tr><th>{html.escape(agency)}</th>{cells}</tr>")
        sat = [(a, d["satisfaction"][0]) for a, d in s.drivers.items()]
        stall = (
            f"{s.top_stall_handoff[0]} → {s.top_stall_handoff[1] or '(end)'} "
            f"({_fmt(s.top_stall_count)} journeys)"
            if s.top_stall_handoff
            else ("none" if s.top_stall_count == 0 else "*")
        )
        le = html.escape(s.life_experience)
        sections.append(
            f"""
<section id="{le}">
  <h2>{html.escape(s.title)} <small>({le})</small></h2>
  <table class="figures">
    <tr><th>journeys</th><td>{_fmt(s.journeys)}</td></tr>
    <tr><th>completed</th><td>{_fmt(s.completed)}</td></tr>
    <tr><th>completion rate</th><td>{
                _fmt(None if s.completion_rate is None else 100 * s.completion_rate, " %")
            }</td></tr>
    <tr><th>median days to complete</th><td>{_fmt(s.median_days_to_complete)}</td></tr>
    <tr><th>hand-off with most stalls</th><td>{html.escape(stall)}</td></tr>
  </table>
  <figure data-chart="sankey" data-life-experience="{le}">
    <figcaption>Agency-to-agency hand-offs</figcaption>{_sankey_svg(s)}
  </figure>
  <figure data-chart="time-to-complete" data-life-experience="{le}">
    <figcaption>Days to complete (completed journeys)</figcaption>
    {_bars_svg(hist, hist_max, " journeys", counts=True)}
  </figure>
  <figure data-chart="drivers" data-life-experience="{le}">
    <figcaption>A-11 satisfaction by agency (1-5)</figcaption>{_bars_svg(sat, 5.0, "")}
    <table class="drivers"><tr><th>agency</th>{"".join(f"<th>{d}</th>" for d in DRIVERS)}</tr>
    {"".join(driver_rows)}</table>
  </figure>
</section>"""
        )
    data = json.dumps(_chart_data(summaries), sort_keys=True).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>cx-broker demo report</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; }}
 table {{ border-collapse: collapse; margin: .5rem 0; }}
 th, td {{ border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; }}
 figure {{ margin: 1rem 0; }} svg {{ max-width: 100%; height: auto; }}
</style></head>
<body>
<h1>cx-broker demo report</h1>
<p>{run.journeys_simulated} simulated journeys (seed {run.seed}), {run.events_published}
events published, {run.dead_letters} dead letters, {run.seconds:.1f} s on Kafka {
        html.escape(run.kafka)
    }; generated {run.generated_at.isoformat(timespec="seconds")}.
Cells with a count of 1-{SMALL_CELL_MAX}, and figures computed from them, are shown as
<b>*</b>.</p>
{"".join(sections)}
<script type="application/json" id="cx-report-data">{data}</script>
</body></html>
"""
