"""Publishing a simulation: per-life-experience token rules through the real preparer,
order per agency, --rate pacing, and the `cxbroker simulate` command (no Kafka needed)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner

from broker.keyring import Keyring
from contracts.envelope import Record
from cxbroker.cli import main
from cxbroker.exitcodes import ExitCode
from producers.deid.raw import RawRecord
from producers.errors import PiiLeak
from producers.publisher import DeliveryResult, DeliveryStatus, PreparedEvent
from producers.simulator import Delivery, Simulation, token_rule_for
from producers.simulator.publish import (
    Deliver,
    SimulationPreparer,
    chunk_size,
    publish_deliveries,
)
from tests.support.keyrings import wire_id

JOURNEYS = 30
SEED = 2


class _FakeKafka:
    """Records what each agency's publisher was asked to deliver (acknowledges all)."""

    def __init__(self) -> None:
        self.sent: dict[str, list[PreparedEvent]] = {}
        self.opened: list[str] = []

    async def deliver_for(self, agency: str) -> Deliver:
        if agency not in self.sent:
            self.opened.append(agency)
            self.sent[agency] = []

        async def deliver(events: Sequence[PreparedEvent]) -> list[DeliveryResult]:
            self.sent[agency].extend(events)
            topic = f"cx.events.{agency}"
            return [DeliveryResult(e.event_id, DeliveryStatus.SENT, topic, 0, 0) for e in events]

        return deliver


def test_every_delivery_is_prepared_with_its_life_experiences_rule_and_sent_in_order(
    keyring: Keyring,
) -> None:
    deliveries = list(Simulation(JOURNEYS, SEED).deliveries())
    kafka = _FakeKafka()
    tally = asyncio.run(
        publish_deliveries(
            deliveries, SimulationPreparer(keyring).prepare, kafka.deliver_for, batch=64
        )
    )
    assert tally.total_failed == 0
    assert tally.prepared == tally.total_sent == len(deliveries)
    assert tally.total_spooled == 0
    for agency, events in kafka.sent.items():
        expected = [d.record for d in deliveries if d.record.agency == agency]
        assert [str(e.event_id) for e in events] == [
            wire_id(keyring, agency, r.event_id) for r in expected
        ]
        for event, raw in zip(events, expected, strict=True):
            payload = json.loads(event.record.value)
            assert payload["token_rule"] == token_rule_for(raw.life_experience).value
            assert event.record.header("ce_cxsig")  # signed
    assert tally.sent == {a: len(e) for a, e in kafka.sent.items()}


def test_a_dry_run_prepares_everything_and_sends_nothing(keyring: Keyring) -> None:
    deliveries = list(Simulation(JOURNEYS, SEED).deliveries())
    tally = asyncio.run(publish_deliveries(deliveries, SimulationPreparer(keyring).prepare, None))
    assert tally.prepared == len(deliveries)
    assert tally.total_sent == tally.total_spooled == 0


def test_a_record_that_cannot_be_prepared_is_counted_by_error_not_value(
    keyring: Keyring,
) -> None:
    deliveries = list(Simulation(JOURNEYS, SEED).deliveries())
    preparer = SimulationPreparer(keyring)
    target = deliveries[3].record.event_id

    def prepare(raw: RawRecord) -> PreparedEvent:
        if raw.event_id == target:
            raise PiiLeak("phone", "value")
        return preparer.prepare(raw)

    tally = asyncio.run(publish_deliveries(deliveries, prepare, None))
    failures = sum(d.record.event_id == target for d in deliveries)
    assert tally.failed == {"PiiLeak": failures}
    assert tally.prepared == len(deliveries) - failures


def test_rate_paces_rounds_on_the_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    deliveries: list[Delivery] = list(Simulation(10, SEED).deliveries())

    tally = asyncio.run(
        publish_deliveries(
            deliveries,
            lambda raw: PreparedEvent(
                UUID(str(raw.event_id)), Record(key=b"k", value=b"{}", headers=())
            ),
            None,
            rate=50.0,
            clock=lambda: now[0],
            sleep=sleep,
        )
    )
    assert tally.prepared == len(deliveries)
    assert chunk_size(50.0) == 5
    assert now[0] == pytest.approx(len(deliveries) / 50.0)
    assert len(slept) == -(-len(deliveries) // 5)
    assert chunk_size(None) == 500 and chunk_size(3.0) == 1 and chunk_size(1e9) == 500
    with pytest.raises(ValueError, match="rate"):
        asyncio.run(publish_deliveries([], preparer_never_called, None, rate=0))


def preparer_never_called(raw: RawRecord) -> PreparedEvent:
    raise AssertionError("nothing to prepare")


def _env(tmp_path: Path, keyring: Keyring) -> dict[str, str]:
    return {
        "CX_KEYRING_DIR": str(keyring.path),
        "CX_STATE_DIR": str(tmp_path / "state"),
        # Nothing listens on port 1: the publisher cannot connect and must spool.
        "CX_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    }


def test_cli_writes_files_and_prints_counts_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["simulate", "--journeys", "25", "--seed", "4", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files and all(name.endswith(".csv") for name in files)
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) - 1 for p in out.iterdir())
    assert f"{lines} records" in result.output
    assert "@example." not in result.output and "555" not in result.output


def test_cli_refuses_rate_with_out(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["simulate", "--journeys", "2", "--out", str(tmp_path), "--rate", "5"]
    )
    assert result.exit_code == 2
    assert "--rate" in result.output


def test_cli_dry_run_prepares_every_record(tmp_path: Path, keyring: Keyring) -> None:
    result = CliRunner(env=_env(tmp_path, keyring)).invoke(
        main, ["simulate", "--journeys", "20", "--seed", "4", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "not publishable" not in result.output
    assert not (tmp_path / "state" / "spool").exists()


def test_cli_without_kafka_spools_every_event_and_says_so(tmp_path: Path, keyring: Keyring) -> None:
    deliveries = list(Simulation(12, 4).deliveries())
    result = CliRunner(env=_env(tmp_path, keyring)).invoke(
        main, ["simulate", "--journeys", "12", "--seed", "4", "--rate", "100000"]
    )
    assert result.exit_code == ExitCode.KAFKA_UNAVAILABLE, result.output
    assert f"{len(deliveries)} events wait in outage spools" in " ".join(result.output.split())
    spooled = {p.name for p in (tmp_path / "state" / "spool").iterdir()}
    assert spooled == {d.record.agency for d in deliveries}
