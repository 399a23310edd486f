"""Run summaries and a self-contained HTML report from the *released* insight cells (pure).

The report shows only what the insights service released (:mod:`consumers.insights`):
every figure is the published value of a cell, or arithmetic on published values only, so
the report cannot tell more than the releases do (a total over the whole run taken from the
journeys themselves could be differenced against the weekly releases). Per life
experience:

* journeys, completed journeys and the completion rate: sums of the weekly ``(*, *)``
  cells over the weeks where they are published (``partial`` when a week's is suppressed);
* the median of the published weekly medians of days to complete (each rounded to weeks);
* the hand-off with most stalls: published weekly ``stalls-at-handoff`` counts added up;
* A-11 driver means by agency: the weekly means weighted by their published answer counts;
* a weekly table with the release id, what was suppressed and why (the rule, never the
  value), and the DP error bars when the release is differentially private.
"""

from __future__ import annotations

import html
import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from contracts.catalog import Catalog, load_catalog
from contracts.insights import InsightCell
from contracts.joined import SMALL_CELL_MAX, Metric, PeriodKind

__all__ = [
    "DRIVERS",
    "LifeExperienceSummary",
    "RunReport",
    "WeekRow",
    "render_html",
    "summarize",
]

#: The A-11 drivers the report shows (a subset keeps the chart readable).
DRIVERS: tuple[str, ...] = ("satisfaction", "trust", "ease", "efficiency")


@dataclass(frozen=True)
class WeekRow:
    """One released week: its release, headline cells (None: suppressed) and suppressions."""

    week: str
    release: str
    started: float | None
    completed: float | None
    completion_rate: float | None
    median_days_to_complete: float | None
    satisfaction: float | None
    #: Half-width of the 95% DP error of ``started`` (None: not a DP release).
    started_error_95: float | None
    #: Suppressed cells of the week by reason.
    suppressed: dict[str, int]


@dataclass(frozen=True)
class LifeExperienceSummary:
    """The demo's figures for one life experience, from released cells only."""

    life_experience: str
    title: str
    journeys: int | None
    completed: int | None
    completion_rate: float | None
    median_days_to_complete: float | None
    top_stall_handoff: tuple[str, str | None] | None
    top_stall_count: int | None
    #: agency -> driver -> (mean or None, answers behind it or None)
    drivers: dict[str, dict[str, tuple[float | None, int | None]]]
    #: (from agency, to agency or None, published stalls added up)
    handoffs: list[tuple[str, str | None, int]]
    weeks: list[WeekRow] = field(default_factory=list)
    #: True when a week's total was suppressed: ``journeys`` leaves it out.
    partial: bool = False
    agencies: list[str] = field(default_factory=list)


def _week_cells(cells: Iterable[InsightCell]) -> dict[str, list[InsightCell]]:
    weeks: dict[str, list[InsightCell]] = {}
    for cell in cells:
        if cell.period_kind is PeriodKind.WEEK:
            weeks.setdefault(cell.period, []).append(cell)
    return {week: weeks[week] for week in sorted(weeks)}


def _find(
    cells: Iterable[InsightCell], metric: Metric, agency: str | None = None
) -> InsightCell | None:
    return next(
        (
            c
            for c in cells
            if c.metric is metric and c.agency == agency and c.stage is None and c.to_agency is None
        ),
        None,
    )


def _value(cell: InsightCell | None) -> float | None:
    return None if cell is None or cell.suppressed else cell.value


def _week_row(week: str, cells: list[InsightCell]) -> WeekRow:
    started = _find(cells, Metric.JOURNEYS_STARTED)
    return WeekRow(
        week=week,
        release=next((c.release for c in cells if c.release), ""),
        started=_value(started),
        completed=_value(_find(cells, Metric.JOURNEYS_COMPLETED)),
        completion_rate=_value(_find(cells, Metric.COMPLETION_RATE)),
        median_days_to_complete=_value(_find(cells, Metric.MEDIAN_DAYS_TO_COMPLETE)),
        satisfaction=_value(_find(cells, Metric.SATISFACTION)),
        started_error_95=None if started is None else started.error_95,
        suppressed=dict(sorted(Counter(c.reason.value for c in cells if c.reason).items())),
    )


def _drivers(
    weeks: Mapping[str, list[InsightCell]], agencies: Sequence[str]
) -> dict[str, dict[str, tuple[float | None, int | None]]]:
    """Weekly means weighted by their published answer counts (published weeks only)."""
    out: dict[str, dict[str, tuple[float | None, int | None]]] = {}
    for agency in agencies:
        per_driver: dict[str, tuple[float | None, int | None]] = {}
        for driver in DRIVERS:
            total = answers = 0.0
            for cells in weeks.values():
                cell = _find(cells, Metric(driver.replace("_", "-")), agency)
                if cell is not None and not cell.suppressed and cell.value and cell.count:
                    total += cell.value * cell.count
                    answers += cell.count
            mean = round(total / answers, 2) if answers > SMALL_CELL_MAX else None
            per_driver[driver] = (mean, int(answers) if mean is not None else None)
        out[agency] = per_driver
    return out


def _summarize_one(
    life_experience_id: str, cells: Sequence[InsightCell], catalog: Catalog
) -> LifeExperienceSummary:
    life_experience = catalog.life_experience(life_experience_id)
    agencies = list(life_experience.agencies)
    weeks = _week_cells(cells)
    rows = [_week_row(week, week_cells) for week, week_cells in weeks.items()]
    shown = [r.started for r in rows if r.started is not None]
    both = [(r.started, r.completed) for r in rows if r.started and r.completed is not None]
    journeys = int(sum(shown)) if shown else None
    completed = int(sum(c for _, c in both)) if both else None
    started_of_both = sum(s for s, _ in both)
    rate = round(completed / started_of_both, 4) if completed and started_of_both else None
    medians = [r.median_days_to_complete for r in rows if r.median_days_to_complete is not None]
    stalls: Counter[tuple[str, str | None]] = Counter()
    hidden = False
    for week_cells in weeks.values():
        for cell in week_cells:
            if cell.metric is Metric.STALLS_AT_HANDOFF and cell.agency:
                hidden |= cell.suppressed
                if not cell.suppressed:
                    stalls[(cell.agency, cell.to_agency)] += int(cell.value or 0)
    ranked = sorted(stalls.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or ""))
    top: tuple[str, str | None] | None = None
    top_count: int | None = None if hidden else 0  # 0: nothing stalled; None: suppressed
    if ranked and ranked[0][1]:
        top, top_count = ranked[0]
    return LifeExperienceSummary(
        life_experience=life_experience_id,
        title=life_experience.display_name,
        journeys=journeys,
        completed=completed,
        completion_rate=rate,
        median_days_to_complete=round(statistics.median(medians), 1) if medians else None,
        top_stall_handoff=top,
        top_stall_count=top_count,
        drivers=_drivers(weeks, agencies),
        handoffs=[(a, b, n) for (a, b), n in sorted(stalls.items(), key=lambda kv: kv[0][0])],
        weeks=rows,
        partial=any(r.started is None for r in rows),
        agencies=agencies,
    )


def summarize(
    released: Mapping[str, Iterable[InsightCell]], catalog: Catalog | None = None
) -> list[LifeExperienceSummary]:
    """Figures per life experience (catalog order) from its released cells."""
    catalog = catalog or load_catalog()
    return [
        _summarize_one(le.id, list(released.get(le.id, ())), catalog)
        for le in catalog.life_experiences
    ]


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


_REASONS = {
    "small-cell": "a count of 1-10, or one that would let a small count, change or mean be "
    "derived (which of the two is not said: it would tell on which side of 11 it lies)",
    "few-answers": "too few answers or journeys behind it",
    "correction": "mean changed by few answers since the last release",
}


def _week_table(summary: LifeExperienceSummary) -> str:
    rows = []
    for r in summary.weeks:
        started = _fmt(None if r.started is None else int(r.started))
        if r.started_error_95 is not None and r.started is not None:
            started += f" ± {r.started_error_95:.1f}"
        rate = None if r.completion_rate is None else 100 * r.completion_rate
        why = ", ".join(f"{n} {reason}" for reason, n in r.suppressed.items()) or "none"
        rows.append(
            f"<tr><td>{html.escape(r.week)}</td><td>{html.escape(r.release)}</td>"
            f"<td>{started}</td><td>{_fmt(None if r.completed is None else int(r.completed))}"
            f"</td><td>{_fmt(rate, ' %')}</td><td>{_fmt(r.median_days_to_complete)}</td>"
            f"<td>{_fmt(r.satisfaction)}</td><td>{html.escape(why)}</td></tr>"
        )
    header = "".join(
        f"<th>{h}</th>"
        for h in (
            "week",
            "release",
            "journeys",
            "completed",
            "rate",
            "median days",
            "satisfaction",
            "suppressed (rule)",
        )
    )
    return f'<table class="weeks"><tr>{header}</tr>{"".join(rows)}</table>'


def render_html(summaries: Sequence[LifeExperienceSummary], run: RunReport, extra: str = "") -> str:
    """One self-contained HTML page: tables and inline SVG charts, data embedded as JSON;
    ``extra`` (HTML, e.g. the disclosure-risk section) goes after the life experiences."""
    sections = []
    for s in summaries:
        weekly = [(r.week, r.started) for r in s.weeks]
        weekly_max = max((v for _, v in weekly if v is not None), default=0.0)
        stalls = [(f"{a} → {b or '(end)'}", float(n)) for a, b, n in s.handoffs]
        stalls_max = max((v for _, v in stalls if v is not None), default=0.0)
        driver_rows = []
        for agency, drivers in s.drivers.items():
            cells = "".join(f"<td>{_fmt(mean)}</td>" for mean, _ in drivers.values())
            driver_rows.append(f"<tr><th>{html.escape(agency)}</th>{cells}</tr>")
        sat = [(a, d["satisfaction"][0]) for a, d in s.drivers.items()]
        stall = (
            f"{s.top_stall_handoff[0]} → {s.top_stall_handoff[1] or '(end)'} "
            f"({_fmt(s.top_stall_count)} journeys in published weeks)"
            if s.top_stall_handoff
            else ("none published" if s.top_stall_count == 0 else "*")
        )
        le = html.escape(s.life_experience)
        partial = " (weeks with a suppressed total left out)" if s.partial else ""
        sections.append(
            f"""
<section id="{le}">
  <h2>{html.escape(s.title)} <small>({le})</small></h2>
  <table class="figures">
    <tr><th>journeys{partial}</th><td>{_fmt(s.journeys)}</td></tr>
    <tr><th>completed</th><td>{_fmt(s.completed)}</td></tr>
    <tr><th>completion rate</th><td>{
                _fmt(None if s.completion_rate is None else 100 * s.completion_rate, " %")
            }</td></tr>
    <tr><th>median days to complete (median of weekly medians, whole weeks)</th>
        <td>{_fmt(s.median_days_to_complete)}</td></tr>
    <tr><th>hand-off with most stalls</th><td>{html.escape(stall)}</td></tr>
  </table>
  <figure data-chart="weeks" data-life-experience="{le}">
    <figcaption>Journeys started per released week (* suppressed)</figcaption>
    {_bars_svg(weekly, weekly_max, " journeys", counts=True)}
  </figure>
  <figure data-chart="stalls" data-life-experience="{le}">
    <figcaption>Stalls per agency hand-off (published weekly counts added up)</figcaption>
    {_bars_svg(stalls, stalls_max, " journeys", counts=True)}
  </figure>
  <figure data-chart="drivers" data-life-experience="{le}">
    <figcaption>A-11 satisfaction by agency (1-5)</figcaption>{_bars_svg(sat, 5.0, "")}
    <table class="drivers"><tr><th>agency</th>{"".join(f"<th>{d}</th>" for d in DRIVERS)}</tr>
    {"".join(driver_rows)}</table>
  </figure>
  <h3>Releases</h3>
  {_week_table(s)}
</section>"""
        )
    legend = "".join(f"<li><b>{k}</b>: {v}</li>" for k, v in _REASONS.items())
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
Every figure is a released insight cell or arithmetic on released cells: weeks are released
once closed, audited against every earlier release. A suppressed cell is shown as <b>*</b>;
why it is suppressed (the rule, never the value):</p><ul>{legend}</ul>
<p>Differentially private releases show the half-width of a 95% interval of their noise
(± e).</p>
{"".join(sections)}
{extra}
<script type="application/json" id="cx-report-data">{data}</script>
</body></html>
"""
