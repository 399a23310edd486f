"""Every long-running command, with its defaults, under its own principal on the secured
session cluster; a running joiner's metrics and health follow its input.

The module provisions its own topic prefix on the session cluster as the admin (topics and
the access plan, whose credentials go to the module's state dir), then runs each command
as a subprocess with ``CX_PROFILE`` (never the admin's credentials): ``simulate`` (each
agency as ``agency-<id>``), ``publish`` (``agency-<id>``), ``join`` (``joiner``, default
group), ``insights --serve`` (``insights``), ``insights`` and ``tail joined``
(``team-analytics``, and ``team-research`` for the fine journeys), ``tail deadletter``
(``operator``). Applying the plan is authoritative
for the plan's principals on the cluster: tests that apply it under another prefix must not
run at the same time (the suite runs integration files one after another).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition

from broker.errors import PropagationTimeout
from broker.provision import ProvisionResult, provision
from broker.settings import Settings
from contracts.catalog import load_catalog
from tests.support.http import http_get, sample
from tests.support.kafka import KafkaEndpoint
from tests.support.waiting import eventually

pytestmark = pytest.mark.kafka

WAIT_S = 120.0
AGENCIES = [a.id for a in load_catalog().agencies]


@dataclass
class Deployment:
    state_dir: Path
    prefix: str
    base_env: dict[str, str]
    admin: Settings

    def env(self, profile: str | None = None, **extra: str) -> dict[str, str]:
        env = dict(self.base_env)
        if profile is not None:
            env["CX_PROFILE"] = profile
        env.update(extra)
        return env


def cli(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cxbroker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read(path: Path) -> str:
    return path.read_text()


def start_joiner(env: dict[str, str], log_path: Path) -> subprocess.Popen[str]:
    """``cxbroker join`` with its defaults, metrics on a free port, logging to ``log_path``."""
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "cxbroker", "join", "--metrics-port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )


async def acli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cli, env, *args)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def deployment(
    kafka: KafkaEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    assert kafka.security_env.get("CX_SASL_USERNAME"), (
        "this test needs the secured session cluster (CX_TEST_SECURITY=sasl-tls, the default)"
    )
    state = tmp_path_factory.mktemp("principals")
    if kafka.local is not None:
        # The session's principals' passwords, shared: a new credentials dir would give the
        # cluster's users new passwords and lock out every later test that uses the old ones.
        session_credentials = kafka.local.settings.state_dir / "credentials"
        session_credentials.mkdir(exist_ok=True)
        (state / "credentials").symlink_to(session_credentials)
    prefix = f"dflt{uuid.uuid4().hex[:6]}."
    admin = kafka.settings(state_dir=state, topic_prefix=prefix)
    result = await provision_again_if_slow(admin)
    assert result.access is not None and "joiner" in result.access.principals
    base = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    base.update(
        CX_STATE_DIR=str(state),
        CX_BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
        CX_TOPIC_PREFIX=prefix,
        CX_SECURITY_PROTOCOL=kafka.security_env["CX_SECURITY_PROTOCOL"],
    )
    if "CX_CA_FILE" in kafka.security_env:
        base["CX_CA_FILE"] = kafka.security_env["CX_CA_FILE"]
    keys = await acli(base, "keys", "init")
    assert keys.returncode == 0, keys.stderr
    yield Deployment(state, prefix, base, admin)


async def provision_again_if_slow(settings: Settings, attempts: int = 3) -> ProvisionResult:
    """``provision``; on a loaded machine the broker may show new ACLs after the apply's
    15 s wait, and the documented remedy is to apply again (idempotent)."""
    for _ in range(attempts - 1):
        try:
            return await provision(settings)
        except PropagationTimeout:
            continue
    return await provision(settings)


async def end_offsets(settings: Settings, topics: list[str]) -> dict[str, int]:
    """Records per topic (agency topics are written without transactions)."""
    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs())
    await consumer.start()
    try:
        # Agency topics have the configured partition count (`provision` made them so).
        tps = [TopicPartition(t, p) for t in topics for p in range(settings.partitions)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    totals = dict.fromkeys(topics, 0)
    for tp, end in ends.items():
        totals[tp.topic] += end
    return totals


async def test_doctor_says_every_command_default_is_allowed(
    deployment: Deployment, kafka: KafkaEndpoint
) -> None:
    admin_env = deployment.env(
        CX_SASL_USERNAME=kafka.security_env["CX_SASL_USERNAME"],
        CX_SASL_PASSWORD=kafka.security_env["CX_SASL_PASSWORD"],
    )
    check = await acli(admin_env, "doctor", "--output", "json")
    assert check.returncode == 0, check.stdout + check.stderr
    rows = [json.loads(line) for line in check.stdout.splitlines()]
    assert {r["principal"] for r in rows} >= {"joiner", "insights", "team-analytics", "operator"}
    assert all(r["verdict"] == "ok" for r in rows), [r for r in rows if r["verdict"] != "ok"]
    assert "password" not in check.stdout.lower()
    # A principal that may not read the ACLs is told so in one line (exit 5).
    refused = await acli(deployment.env("joiner"), "doctor")
    assert refused.returncode == 5, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "joiner may not read the ACLs" in lines[0], lines


@pytest.mark.timeout(600)  # eight CLI processes one after another: slow on a busy machine
async def test_every_command_runs_with_its_defaults_under_its_own_principal(
    deployment: Deployment, tmp_path: Path
) -> None:
    agency_topics = [deployment.admin.topics.agency(a) for a in AGENCIES]
    # 1. Simulated agencies publish, each as its own principal.
    sim = await acli(deployment.env(), "simulate", "--journeys", "25", "--seed", "3")
    assert sim.returncode == 0, sim.stderr
    first = await end_offsets(deployment.admin, agency_topics)
    assert sum(first.values()) > 0, sim.stdout + sim.stderr

    # 2. The joiner with its default group, metrics on a free port, JSON logs.
    log_path = tmp_path / "join.log"
    joiner = start_joiner(deployment.env("joiner", CX_LOG_FORMAT="json"), log_path)
    try:
        port = await _metrics_port(log_path, joiner)
        assert await http_get(port, "/healthz") == (200, "ok\n")

        async def ready() -> bool:
            return (await http_get(port, "/readyz"))[0] == 200

        await eventually(ready, "the joiner is ready (partitions assigned, state restored)", WAIT_S)
        await _records_reach(port, sum(first.values()))

        # 3. One agency publishes a file as its own principal: the counters follow.
        out = tmp_path / "files"
        files = await acli(
            deployment.env(), "simulate", "--journeys", "10", "--seed", "4", "--out", str(out)
        )
        assert files.returncode == 0, files.stderr
        agency = sorted(p.stem for p in out.glob("*.csv"))[0]
        topic = deployment.admin.topics.agency(agency)
        before = await _scrape(port)
        topic_before = sample(before, "cx_joiner_records_total", {"topic": topic}) or 0.0
        published = await acli(
            deployment.env(f"agency-{agency}"),
            "publish",
            "--agency",
            agency,
            "--file",
            str(out / f"{agency}.csv"),
        )
        assert published.returncode == 0, published.stderr
        second = await end_offsets(deployment.admin, agency_topics)
        assert second[topic] > first[topic]
        text = await _records_reach(port, sum(second.values()))
        assert sample(text, "cx_joiner_records_total", {"topic": topic}) == topic_before + (
            second[topic] - first[topic]
        )
        assert (sample(text, "cx_joiner_snapshots_total") or 0) > 0
        assert (sample(text, "cx_joiner_transaction_seconds_count") or 0) > 0
        assert sample(text, "cx_joiner_ready") == 1
        assert sample(text, "cx_joiner_partitions_restoring") == 0
        assert sample(text, "cx_joiner_consumer_lag", {"topic": topic, "partition": "0"}) == 0
        assert (sample(text, "cx_joiner_open_journeys") or 0) > 0
        _labels_are_names_only(text)
    finally:
        joiner.send_signal(signal.SIGTERM)
        stdout, _ = await asyncio.to_thread(joiner.communicate, timeout=60)
    assert joiner.returncode == 0, read(log_path)[-2000:]
    assert "joiner stopped: records=" in stdout
    lines = read(log_path).splitlines()
    assert lines and all(
        set(json.loads(line)) >= {"ts", "level", "logger", "message"} for line in lines
    )

    # 4. Insights (service and reader), and the data team's and operator's tails.
    serve = await acli(deployment.env("insights"), "insights", "--serve", "--until-idle")
    assert serve.returncode == 0, serve.stderr
    show = await acli(
        deployment.env("team-analytics"), "insights", "-l", "having-a-child", "--last", "1"
    )
    assert show.returncode == 0, show.stderr
    # The default tier reads the k-protected stream: it may hold nothing yet (journeys are
    # released in groups of k once closed), so it must only run; the restricted tier reads
    # the fine journeys, which the simulation has filled.
    tail = await acli(
        deployment.env("team-analytics"), "tail", "joined", "having-a-child", "--idle", "5"
    )
    assert tail.returncode == 0, tail.stderr
    fine = await acli(
        deployment.env("team-research"), "tail", "joined", "having-a-child", "--idle", "5"
    )
    assert fine.returncode == 0, fine.stderr
    assert fine.stdout.count("\n") > 0
    letters = await acli(deployment.env("operator"), "tail", "deadletter", "--idle", "3")
    assert letters.returncode == 0, letters.stderr


async def _metrics_port(log_path: Path, process: subprocess.Popen[str]) -> int:
    found: list[int] = []

    async def announced() -> bool:
        text = read(log_path)
        assert process.poll() is None, text[-2000:]
        for line in text.splitlines():
            message = json.loads(line)["message"]
            if message.startswith("metrics and health on http://127.0.0.1:"):
                found.append(int(message.rsplit(":", 1)[1].split("/", 1)[0]))
                return True
        return False

    await eventually(announced, "the joiner logs its metrics port", WAIT_S)
    return found[0]


async def _scrape(port: int) -> str:
    status, text = await http_get(port, "/metrics")
    assert status == 200
    return text


async def _records_reach(port: int, total: int) -> str:
    last: list[str] = [""]

    async def reached() -> bool:
        last[0] = await _scrape(port)
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in last[0].splitlines()
            if line.startswith("cx_joiner_records_total{")
        )
        assert counted <= total
        return counted == total

    await eventually(reached, f"cx_joiner_records_total reaches {total}", WAIT_S)
    return last[0]


def _labels_are_names_only(text: str) -> None:
    """Labels are topic names, partition numbers, reason codes and buckets: nothing else."""
    for line in text.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        labels = line.split("{", 1)[1].split("}", 1)[0]
        for pair in labels.split(","):
            name, value = pair.split("=", 1)
            assert name in {"topic", "partition", "reason", "le"}, line
            assert len(value) < 80, line
