"""`cxbroker kafka up --security sasl`, `init` and a principal profile, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from broker.errors import AccessDenied
from broker.security.errors import denied_as
from broker.security.plan import expand_plan, load_plan
from broker.security.profile import load_settings
from broker.settings import SecurityProtocol
from contracts.catalog import load_catalog

pytestmark = pytest.mark.kafka

CXBROKER = [sys.executable, "-m", "cxbroker"]

#: Principals of the access plan (one per agency and the shared ones).
PRINCIPALS = len(expand_plan(load_plan(), [a.id for a in load_catalog().agencies]))


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CXBROKER, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture(scope="module")
def sasl_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    state_dir = tmp_path_factory.mktemp("sasl-cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    env["CX_STATE_DIR"] = str(state_dir)
    up = cli(env, "kafka", "up", "--security", "sasl")
    try:
        assert up.returncode == 0, up.stderr
        assert "security sasl" in up.stderr
        # A secured cluster gets the access plan at once (users, credentials, ACLs).
        assert f"access plan: {PRINCIPALS} principals; users created {PRINCIPALS}" in up.stderr
        yield state_dir, env
    finally:
        down = cli(env, "kafka", "down", "--purge")
        assert down.returncode == 0, down.stderr


async def test_up_sasl_then_init_applies_the_access_plan(
    sasl_cluster: tuple[Path, dict[str, str]],
) -> None:
    state_dir, env = sasl_cluster
    init = cli(env, "init", "-q")
    assert init.returncode == 0, init.stderr
    assert f"access plan: nothing to change ({PRINCIPALS} principals)" in init.stdout
    check = cli(env, "doctor", "--output", "csv")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "joiner,join,ok,ok" in check.stdout.splitlines()

    # A different security for the recorded cluster is refused, not silently changed.
    other = cli(env, "kafka", "up", "--security", "sasl-tls")
    assert other.returncode != 0 and "down --purge" in other.stderr

    ssa = load_settings(state_dir=state_dir, profile="agency-ssa")
    assert ssa.security_protocol is SecurityProtocol.SASL_PLAINTEXT and ssa.ca_file is None
    producer = AIOKafkaProducer(**ssa.kafka_client_kwargs(), enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(ssa.topics.agency("ssa"), b"v", key=b"k")
        with (
            pytest.raises(AccessDenied, match="agency-ssa may not write"),
            denied_as("agency-ssa", "write to", ssa.topics.agency("hhs")),
        ):
            await producer.send_and_wait(ssa.topics.agency("hhs"), b"v", key=b"k")
    finally:
        await producer.stop()
