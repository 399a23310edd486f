"""The insights table: suppressed cells are marked, zero rows are left out."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner
from rich.console import Console

from consumers.insights.release.plan import next_release
from contracts.catalog import load_catalog
from contracts.insights import InsightCell, SuppressionReason
from contracts.joined import JourneySnapshot, Metric, PeriodKind
from contracts.vocabulary import JourneyStatus, Stage
from cxbroker import cli
from cxbroker.insights_view import (
    DEFAULT_METRICS,
    format_value,
    handoff_table,
    insights_table,
    legend,
)
from tests.support.snapshots import journey

LE = "recovering-from-a-disaster"


def cell(**fields: object) -> InsightCell:
    base: dict[str, object] = {
        "life_experience": LE,
        "period_kind": PeriodKind.DAY,
        "period": "2026-03-02",
        "metric": Metric.JOURNEYS_STARTED,
    }
    return InsightCell.model_validate({**base, **fields})


def compute_insights(snapshots: list[JourneySnapshot]) -> list[InsightCell]:
    """The cells of the one release of week 2026-W10."""
    le = load_catalog().life_experience(LE)
    planned = next_release("2026-W10", snapshots, le, [], now=datetime(2026, 6, 1, tzinfo=UTC))
    assert planned is not None
    return planned.record.published


def test_values_are_formatted_by_kind() -> None:
    assert format_value(cell(suppressed=True)) == "*"
    assert format_value(cell(suppressed=True, reason=SuppressionReason.SMALL_CELL)) == "*"
    assert format_value(cell(suppressed=True, reason=SuppressionReason.FEW_ANSWERS)) == "*a"
    assert "* count of 1-10" in legend() and "*a" in legend()
    dp = cell(suppressed=False, value=41.0, error_95=7.5)
    assert format_value(dp) == "41 ±7.5"
    mean = cell(suppressed=False, metric=Metric.TRUST, value=3.5, count=40)
    assert format_value(mean) == "3.50 (n=40)"
    assert format_value(cell(suppressed=False, value=12.0, count=12)) == "12"
    assert format_value(cell(suppressed=False, metric=Metric.TRUST, value=3.256)) == "3.26"
    assert format_value(cell(suppressed=False, metric=Metric.TRUST)) == "-"
    assert format_value(None) == "-"
    rate = cell(suppressed=False, metric=Metric.COMPLETION_RATE, value=0.8333)
    assert format_value(rate) == "83.3%"


def test_the_table_marks_small_cells_and_skips_empty_rows() -> None:
    snapshots = [journey(i, steps=(("fema", Stage.APPLY),)) for i in range(14)] + [
        journey(50 + i, steps=(("fema", Stage.DECISION),), status=JourneyStatus.STALLED)
        for i in range(3)
    ]
    cells = compute_insights(snapshots)
    console = Console(width=200, record=True)
    console.print(insights_table(LE, "2026-W10", cells))
    text = console.export_text()
    lines = {
        line.split("│")[1].strip() + "/" + line.split("│")[2].strip(): line
        for line in text.splitlines()
        if line.count("│") > 3
    }
    assert "fema/apply" in lines and "fema/decision" in lines and "all/all" in lines
    assert "fema/discover" not in lines  # a published zero row is left out
    assert "*" in lines["fema/decision"]
    assert lines["all/all"].count("*") >= 1  # complemented: (fema, decision) = 17 - 14
    for number in range(1, 11):
        assert f" {number} " not in text.replace("2026", "")


def stalled(n: int, steps: tuple[tuple[str, Stage], ...]) -> list[JourneySnapshot]:
    return [journey(n + i, steps=steps, status=JourneyStatus.STALLED) for i in range(n % 100)]


def render(table: object) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_the_table_shows_completion_rate_and_days_to_complete() -> None:
    done = [
        journey(i, steps=(("fema", Stage.RECEIVE),), days=float(i), status=JourneyStatus.COMPLETED)
        for i in range(1, 13)
    ]
    waiting = [journey(100 + i, steps=(("fema", Stage.APPLY),)) for i in range(12)]
    cells = compute_insights(done + waiting)
    assert {Metric.COMPLETION_RATE, Metric.MEDIAN_DAYS_TO_COMPLETE} <= set(DEFAULT_METRICS)
    text = render(insights_table(LE, "2026-W10", cells))
    assert "completion-rate" in text and "median-days-to-complete" in text
    (all_row,) = [
        line for line in text.splitlines() if line.replace(" ", "").startswith("│all│all")
    ]
    assert "50.0%" in all_row  # 12 of 24
    assert "median" not in all_row  # 12 completed: fewer than the percentile minimum


def handoff_cells(total: int, shown: int) -> list[InsightCell]:
    """A week whose stalled total is ``total``: fema -> sba published as ``shown``, the two
    other hand-offs suppressed."""
    week = {"period_kind": PeriodKind.WEEK, "period": "2026-W10"}
    stall = {**week, "metric": Metric.STALLS_AT_HANDOFF}
    return [
        cell(**week, metric=Metric.JOURNEYS_STALLED, suppressed=False, value=total, count=total),
        cell(**stall, agency="fema", to_agency="sba", suppressed=False, value=shown, count=shown),
        cell(**stall, agency="sba", to_agency="hud", suppressed=True),
        cell(**stall, agency="hud", suppressed=True, reason=SuppressionReason.SMALL_CELL),
    ]


def handoff_rows(cells: list[InsightCell]) -> tuple[list[str], str]:
    assert handoff_table(LE, "2026-W11", cells) is None  # nothing stalled that week
    table = handoff_table(LE, "2026-W10", cells)
    assert table is not None
    text = render(table)
    return [line for line in text.splitlines() if line.count("│") == 4], " ".join(text.split())


def test_the_hand_off_with_most_stalls_is_named_when_the_totals_prove_it() -> None:
    # 47 stalled, 30 at fema -> sba: the suppressed ones hold 17 at most.
    rows, text = handoff_rows(handoff_cells(total=47, shown=30))
    assert "fema" in rows[0] and "sba" in rows[0] and "30" in rows[0]  # most stalls first
    assert all("*" in row for row in rows[1:])  # suppressed, marked *
    assert "most stalls: fema -> sba" in text


def test_the_hand_off_with_most_stalls_is_not_claimed_when_suppression_hides_it() -> None:
    # 29 stalled, 14 published: the suppressed hand-offs hold 15, more than 14.
    rows, text = handoff_rows(handoff_cells(total=29, shown=14))
    assert "14" in rows[0] and "*" in rows[-1]
    assert "most stalls:" not in text and "may be among them" in text


def test_an_all_suppressed_table_says_why_and_which_population_shows_cells() -> None:
    few = [journey(i, steps=(("fema", Stage.APPLY),)) for i in range(5)]
    text = " ".join(render(insights_table(LE, "2026-W10", compute_insights(few))).split())
    assert "every count is suppressed: too few journeys for the protection rule" in text
    assert (
        "Cells show once every agency/stage row has at least 11 journeys: 11 or "
        f"more journeys of {LE} starting in 2026-W10." in text
    )
    many = [journey(i, steps=(("fema", Stage.APPLY),)) for i in range(30)]
    shown = render(insights_table(LE, "2026-W10", compute_insights(many)))
    assert "every count is suppressed" not in shown


def test_contracts_list_has_a_header_per_column() -> None:
    result = CliRunner().invoke(cli.main, ["contracts", "list"], terminal_width=250)
    assert result.exit_code == 0
    header = next(line for line in result.output.splitlines() if "contract" in line)
    row = next(line for line in result.output.splitlines() if "urn:cx:contract:" in line)
    assert [h.strip() for h in header.strip("┃ ").split("┃")] == [
        "contract",
        "version",
        "kind",
        "urn",
        "newest",
    ]
    assert row.count("│") == header.count("┃")
