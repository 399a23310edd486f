"""``cxbroker privacy report --file``: figures of both streams, the k check, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from contracts.protected import Precision, protect
from contracts.vocabulary import JourneyStatus, Stage
from cxbroker.commands.privacy import privacy
from cxbroker.errors import BelowK, PrivacyInputError
from tests.support.snapshots import journey, random_journeys

LE = "recovering-from-a-disaster"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_report_gives_the_figures_of_the_fine_and_the_protected_stream(tmp_path: Path) -> None:
    fine = random_journeys(60, seed=1)  # 1-3 versions per journey: the latest counts
    records = [
        protect(journey(n, status=JourneyStatus.COMPLETED), Precision.STATUS, k=11)
        for n in range(12)
    ]
    path = _write(
        tmp_path / "s.jsonl",
        [s.model_dump_json() for s in fine] + [r.model_dump_json() for r in records] + ["{"],
    )
    result = CliRunner().invoke(privacy, ["report", "--file", str(path), "--output", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["fine (second)"]["journeys"] == 60
    assert doc["fine (second)"]["unique_share"] == 1.0
    assert doc["protected"] == {**doc["protected"], "journeys": 12, "groups": 1, "unique": 0}
    assert doc["protected"]["smallest_group"] == 12
    assert doc["invalid_records"] == {"count": 1}


def test_check_fails_when_a_protected_group_is_smaller_than_k(tmp_path: Path) -> None:
    records = [
        protect(journey(n, steps=(("fema", Stage.APPLY),)), Precision.DAY, k=11).model_dump_json()
        for n in range(3)
    ]
    path = _write(tmp_path / "small.jsonl", records)
    result = CliRunner().invoke(privacy, ["report", "--file", str(path), "--check"])
    assert isinstance(result.exception, BelowK)
    assert "3 protected journeys" in str(result.exception)
    ok = CliRunner().invoke(privacy, ["report", "--file", str(path), "--check", "--k", "3"])
    assert ok.exit_code == 0, ok.output


def test_an_unknown_life_experience_is_a_usage_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.jsonl", [])
    result = CliRunner().invoke(privacy, ["report", "--file", str(path), "-l", "winning-big"])
    assert isinstance(result.exception, PrivacyInputError)


def test_the_cli_exits_with_one_line_and_code_1_below_k(tmp_path: Path) -> None:
    record = protect(journey(1), Precision.DAY, k=11).model_dump_json()
    path = _write(tmp_path / "one.jsonl", [record])
    out = subprocess.run(
        [sys.executable, "-m", "cxbroker", "privacy", "report", "--file", str(path), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "cxbroker: error: 1 protected journeys are in groups smaller than k"
    ]
    assert record not in out.stderr and journey(1).journey_token not in out.stdout + out.stderr
