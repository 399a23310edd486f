"""Output that scripts and logs can read: full tables off a terminal, json/csv, line progress."""

from __future__ import annotations

import csv
import io
import json

import click
import pytest
from click.testing import CliRunner
from rich.table import Table

from consumers.report import DRIVERS, LifeExperienceSummary
from cxbroker.commands.demo import print_summaries
from cxbroker.output import LineProgress, console, render_rows

LONG = "transitioning-to-civilian-life-with-a-very-long-name-that-would-be-cut"


def test_rows_as_json_lines_and_csv() -> None:
    headers = ("principal", "command", "verdict")
    rows = [("joiner", "join", "ok"), ("agency-ssa", 'publish, "quoted"', "REFUSED")]
    lines = render_rows(headers, rows, "json").splitlines()
    assert [json.loads(line) for line in lines][1] == {
        "principal": "agency-ssa",
        "command": 'publish, "quoted"',
        "verdict": "REFUSED",
    }
    parsed = list(csv.reader(io.StringIO(render_rows(headers, rows, "csv"))))
    assert parsed == [list(headers), *map(list, rows)]


def test_a_table_off_a_terminal_is_never_cut() -> None:
    # CliRunner's stdout is not a terminal: the console is wide and cuts nothing.
    def show() -> None:
        table = Table()
        for col in ("life experience", "most stalls", "a", "b", "c", "d"):
            table.add_column(col)
        table.add_row(LONG, "va -> dod-with-a-long-agency-name (123)", "1", "2", "3", "4")
        console().print(table)

    result = CliRunner().invoke(click.command()(show))
    assert result.exit_code == 0, result.output
    assert LONG in result.output and "…" not in result.output
    assert "va -> dod-with-a-long-agency-name (123)" in result.output


def test_line_progress_prints_one_line_per_interval_and_a_last_one() -> None:
    now = [0.0]
    lines: list[str] = []
    with LineProgress(interval=10, out=lines.append, clock=lambda: now[0]) as progress:
        task = progress.add_task("publish", total=200, records=0)
        for step in range(1, 31):
            now[0] = float(step)
            progress.update(task, completed=step * 5, records=step * 20)
    assert lines == [
        "publish: 50/200 (25%) records=200 elapsed 10s",
        "publish: 100/200 (50%) records=400 elapsed 20s",
        "publish: 150/200 (75%) records=600 elapsed 30s",
        "publish: 150/200 (75%) records=600 elapsed 30s",
    ]


def summary() -> LifeExperienceSummary:
    return LifeExperienceSummary(
        life_experience=LONG,
        title="t",
        journeys=1200,
        completed=None,
        completion_rate=0.5,
        median_days_to_complete=12.0,
        top_stall_handoff=("va", "dod-with-a-long-agency-name"),
        top_stall_count=123,
        drivers={"va": {d: (4.25, 30) for d in DRIVERS}},
        handoffs=[],
    )


def test_demo_summaries_as_json_csv_and_full_tables(capsys: pytest.CaptureFixture[str]) -> None:
    print_summaries([summary()], console(), "json")
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["table"] == "journeys" and rows[0]["life experience"] == LONG
    assert rows[0]["completed"] == "*" and rows[0]["most stalls"].endswith("(123)")
    assert rows[1]["table"] == "drivers" and rows[1]["agency"] == "va"
    print_summaries([summary()], console(), "csv")
    assert f"{LONG},1200,*,50.0 %,12.0," in capsys.readouterr().out
    print_summaries([summary()], console(), "table")
    out = capsys.readouterr().out
    assert LONG in out and "va -> dod-with-a-long-agency-name (123)" in out and "…" not in out
