"""The insights table: suppressed cells are marked, zero rows are left out."""

from __future__ import annotations

from rich.console import Console

from consumers.insights.aggregate import compute_insights
from consumers.insights.cli import format_value, insights_table
from contracts.catalog import load_catalog
from contracts.joined import InsightCell, Metric, PeriodKind
from contracts.vocabulary import JourneyStatus, Stage
from tests.unit.insights.snapshots import journey

LE = "recovering-from-a-disaster"


def cell(**fields: object) -> InsightCell:
    base: dict[str, object] = {
        "life_experience": LE,
        "period_kind": PeriodKind.DAY,
        "period": "2026-03-02",
        "metric": Metric.JOURNEYS_STARTED,
    }
    return InsightCell.model_validate({**base, **fields})


def test_values_are_formatted_by_kind() -> None:
    assert format_value(cell(suppressed=True)) == "*"
    assert format_value(cell(suppressed=False, value=12.0, count=12)) == "12"
    assert format_value(cell(suppressed=False, metric=Metric.TRUST, value=3.256)) == "3.26"
    assert format_value(cell(suppressed=False, metric=Metric.TRUST)) == "-"
    assert format_value(None) == "-"


def test_the_table_marks_small_cells_and_skips_empty_rows() -> None:
    snapshots = [journey(i, steps=(("fema", Stage.APPLY),)) for i in range(14)] + [
        journey(50 + i, steps=(("fema", Stage.DECISION),), status=JourneyStatus.STALLED)
        for i in range(3)
    ]
    cells = compute_insights(snapshots, load_catalog().life_experience(LE))
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
    assert "17" in lines["all/all"]
    for number in range(1, 11):
        assert f" {number} " not in text.replace("2026", "")
