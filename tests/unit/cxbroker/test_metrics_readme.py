"""The README's metrics table lists exactly the metrics the processes expose, with their labels."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from broker.settings import Settings
from consumers.insights.metrics import InsightsMetrics
from consumers.joiner.engine import Joiner
from consumers.joiner.metrics import JoinerMetrics
from producers.metrics import PublisherMetrics
from tests.support.paths import REPO


def exposed(tmp_path: Path) -> dict[str, str]:
    """Metric name (as scraped, counters with ``_total``) -> type."""
    registry = CollectorRegistry()
    JoinerMetrics(Joiner(Settings(state_dir=tmp_path)), registry)
    InsightsMetrics(registry)
    PublisherMetrics(registry)
    names = {}
    for family in registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        names[name] = family.type
    return names


def readme_table() -> dict[str, tuple[str, set[str]]]:
    """Metric name -> (type, labels) from README's "Metrics and health" table."""
    text = (REPO / "README.md").read_text()
    section = text.split("### Metrics and health", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, tuple[str, set[str]]] = {}
    for line in section.splitlines():
        if not line.startswith("| `cx_"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        labels = set(re.findall(r"`([a-z_]+)`", cells[2]))
        for name in re.findall(r"`(cx_[a-z_]+)`", cells[0]):
            rows[name] = (cells[1], labels)
    return rows


def test_readme_lists_every_exposed_metric_and_nothing_else(tmp_path: Path) -> None:
    names = exposed(tmp_path)
    table = readme_table()
    assert set(table) == set(names)
    for name, kind in names.items():
        assert table[name][0] == kind, name
    # No label that could hold a value or a token.
    labels = set().union(*(labels for _, labels in table.values()))
    assert labels <= {
        "topic",
        "partition",
        "reason",
        "le",
        "life_experience",
        "final",
        "agency",
        "outcome",
    }
