"""`cxbroker demo` end to end on real Kafka, checked against a pure reference of the same seed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka.partitioner import murmur2

from broker.keyring import Keyring
from broker.settings import Settings
from consumers import reference_fold
from consumers.insights.release.plan import first_releases
from consumers.report import summarize
from contracts.catalog import load_catalog
from contracts.envelope import decode
from cxbroker.demo import DEMO_START
from producers.simulator.engine import Simulation
from producers.simulator.publish import SimulationPreparer
from tests.support.kafka import KafkaEndpoint, subprocess_env

pytestmark = pytest.mark.kafka

JOURNEYS = 500
SEED = 11


def reference_summaries(keyring_dir: Path, partitions: int) -> list[dict[str, object]]:
    """The demo's figures computed in memory from the same seed and keyring."""
    preparer = SimulationPreparer(Keyring(keyring_dir))
    events = []
    for delivery in Simulation(JOURNEYS, SEED, DEMO_START).deliveries():
        record = preparer.prepare(delivery.record).record
        events.append(decode(record.key, record.value, record.headers).event)

    def partition_of(token: str) -> int:
        return int(murmur2(token.encode("ascii")) & 0x7FFFFFFF) % partitions

    final = reference_fold(events, partition_of=partition_of)
    now = datetime.now(UTC)
    released = {
        le.id: [c for r in first_releases(final.values(), le, now=now) for c in r.published]
        for le in load_catalog().life_experiences
    }
    return [asdict(s) for s in summarize(released)]


def normalise(data: object) -> object:
    """JSON-shaped data (tuples become lists) for comparison with the embedded report data."""
    return json.loads(json.dumps(data))


def test_demo_figures_equal_the_reference(
    kafka: KafkaEndpoint, unique: Callable[[str], str], tmp_path: Path
) -> None:
    prefix = unique("demo") + "."
    report = tmp_path / "report.html"
    env = subprocess_env()
    env.update(
        CX_BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
        CX_TOPIC_PREFIX=prefix,
        CX_STATE_DIR=str(tmp_path / "state"),
        CX_KEYRING_DIR=str(tmp_path / "keyring"),
        COLUMNS="200",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cxbroker",
            "demo",
            "--journeys",
            str(JOURNEYS),
            "--seed",
            str(SEED),
            "--report",
            str(report),
            "--joiners",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    assert f"report: {report}" in result.stdout.replace("\n", "")

    # the two joiner processes' counters (--stats-file) add up to what was published
    printed = re.search(r"(\d+) events published, (\d+) dead letters", result.stdout)
    assert printed is not None, result.stdout[-2000:]
    files = sorted((tmp_path / "state" / "demo").glob("joiner-*.stats.json"))
    assert [f.name for f in files] == ["joiner-0.stats.json", "joiner-1.stats.json"]
    stats = [json.loads(f.read_text()) for f in files]
    assert sum(s["records"] for s in stats) == int(printed.group(1))
    assert sum(s["dead_letters"] for s in stats) == int(printed.group(2))

    html = report.read_text()
    # The disclosure-risk section: the fine journeys against the k-protected ones.
    risk = re.search(
        r"(\d+) k-protected journeys released \(k=11\), [\d.]+ % unique, smallest group (\d+)",
        result.stdout.replace("\n", " "),
    )
    assert risk is not None, result.stdout[-2000:]
    assert int(risk.group(1)) == 0 or int(risk.group(2)) >= 11
    assert 'id="disclosure-risk"' in html and "protected (as published)" in html
    for chart in ("weeks", "stalls", "drivers"):
        assert html.count(f'data-chart="{chart}"') == 5, chart
    embedded = re.search(
        r'<script type="application/json" id="cx-report-data">(.*?)</script>', html, re.S
    )
    assert embedded is not None
    shown = json.loads(embedded.group(1).replace("<\\/", "</"))

    expected = reference_summaries(tmp_path / "keyring", Settings().partitions)
    assert shown == {s["life_experience"]: normalise(s) for s in expected}

    # the printed table carries the same journeys and completion figures
    for s in expected:
        journeys = "*" if s["journeys"] is None else str(s["journeys"])
        line = next(
            (row for row in result.stdout.splitlines() if f" {s['life_experience']} " in row), ""
        )
        assert journeys in line, (s["life_experience"], line)
