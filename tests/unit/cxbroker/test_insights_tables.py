"""The insights table: suppressed cells are marked, zero rows are left out."""

from __future__ import annotations

from rich.console import Console

from consumers.insights.aggregate import compute_insights
from contracts.catalog import load_catalog
from contracts.joined import InsightCell, JourneySnapshot, Metric, PeriodKind
from contracts.vocabulary import JourneyStatus, Stage
from cxbroker.commands.insights import DEFAULT_METRICS, format_value, handoff_table, insights_table
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


def test_values_are_formatted_by_kind() -> None:
    assert format_value(cell(suppressed=True)) == "*"
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
    cells = compute_insights(done + waiting, load_catalog().life_experience(LE))
    assert {Metric.COMPLETION_RATE, Metric.MEDIAN_DAYS_TO_COMPLETE} <= set(DEFAULT_METRICS)
    text = render(insights_table(LE, "2026-W10", cells))
    assert "completion-rate" in text and "median-days-to-complete" in text
    (all_row,) = [
        line for line in text.splitlines() if line.replace(" ", "").startswith("│all│all")
    ]
    assert "50.0%" in all_row  # 12 of 24
    assert "6.50" in all_row and "11.00" in all_row  # median and p90 (nearest rank) of 1..12


def handoffs(fema_sba: int, sba_hud: int, hud_end: int) -> list[JourneySnapshot]:
    everything = (("fema", Stage.RECEIVE), ("sba", Stage.RECEIVE), ("hud", Stage.APPLY))
    return (
        stalled(100 + fema_sba, (("fema", Stage.DECISION),))
        + stalled(200 + hud_end, everything)
        + stalled(300 + sba_hud, (("fema", Stage.RECEIVE), ("sba", Stage.APPLY)))
    )


def handoff_rows(snapshots: list[JourneySnapshot]) -> tuple[list[str], str]:
    cells = compute_insights(snapshots, load_catalog().life_experience(LE))
    assert handoff_table(LE, "2026-W11", cells) is None  # nothing stalled that week
    table = handoff_table(LE, "2026-W10", cells)
    assert table is not None
    text = render(table)
    for number in range(1, 11):
        assert f" {number} " not in text.replace("2026", "")
    return [line for line in text.splitlines() if line.count("│") == 4], " ".join(text.split())


def test_the_hand_off_with_most_stalls_is_named_when_the_totals_prove_it() -> None:
    # 30 + 14 + 3 = 47 stalled: the 3 and one more (the 14) are suppressed; the suppressed
    # ones add up to 47 - 30 = 17 at most, so fema -> sba (30) has the most.
    rows, text = handoff_rows(handoffs(fema_sba=30, sba_hud=3, hud_end=14))
    assert "fema" in rows[0] and "sba" in rows[0] and "30" in rows[0]  # most stalls first
    assert all(row.rstrip().endswith("* │") for row in rows[1:])  # suppressed, marked *
    assert "most stalls: fema -> sba" in text


def test_the_hand_off_with_most_stalls_is_not_claimed_when_suppression_hides_it() -> None:
    # 14 + 12 + 3 = 29: the suppressed hand-offs hold 15, more than the published 14.
    rows, text = handoff_rows(handoffs(fema_sba=14, sba_hud=3, hud_end=12))
    assert "14" in rows[0] and rows[-1].rstrip().endswith("* │")
    assert "most stalls:" not in text and "may be among them" in text
