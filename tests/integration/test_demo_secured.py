"""`cxbroker demo` on its own secured cluster (SCRAM over TLS, ACLs, one principal per role).

After the run, every byte of every topic (keys, values, headers; aborted transactions
included) is scanned for linkage keys, private signing keys and principal passwords.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from broker.admin import admin_client
from broker.settings import Settings

pytestmark = pytest.mark.kafka


def run(
    args: list[str], env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def secrets_of(state: Path) -> Iterator[tuple[str, bytes]]:
    """Every secret the run made, in the encodings it could leak in."""
    for path in (state / "keyring").rglob("*.json"):
        data = json.loads(path.read_text())
        for field in ("secret", "private_key"):
            if field in data:
                raw = base64.b64decode(data[field])
                for form in (
                    data[field].encode(),
                    raw,
                    raw.hex().encode(),
                    base64.urlsafe_b64encode(raw).rstrip(b"="),
                ):
                    yield f"{path.name}:{field}", form
    for path in (state / "credentials").glob("*.json"):
        yield f"{path.name}:password", json.loads(path.read_text())["password"].encode()


async def all_topic_bytes(settings: Settings) -> list[bytes]:
    async with admin_client(settings) as admin:
        topics = [t for t in await admin.list_topics() if not t.startswith("__")]
        described = await admin.describe_topics(topics)
    tps = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    consumer = AIOKafkaConsumer(
        isolation_level="read_uncommitted",
        enable_auto_commit=False,
        **settings.kafka_client_kwargs(),
    )
    await consumer.start()
    chunks: list[bytes] = []
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if end[tp] > 0}
        async with asyncio.timeout(120):
            while pending:
                for records in (await consumer.getmany(*pending, timeout_ms=1000)).values():
                    for r in records:
                        chunks += [r.key or b"", r.value or b""]
                        chunks += [n.encode() + b"=" + (v or b"") for n, v in r.headers]
                for tp in list(pending):
                    if await consumer.position(tp) >= end[tp]:
                        pending.discard(tp)
    finally:
        await consumer.stop()
    return chunks


async def test_secured_demo_runs_as_principals_and_leaks_no_secret(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    env.update(CX_STATE_DIR=str(state), COLUMNS="200")
    try:
        result = await asyncio.to_thread(
            run,
            ["demo", "--journeys", "120", "--seed", "5", "--report", str(tmp_path / "r.html")],
            env,
        )
        assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
        assert "security sasl-tls" in result.stdout
        assert "0 dead letters" in result.stdout

        admin = Settings(state_dir=state, profile="admin")
        assert admin.security_protocol.value == "SASL_SSL"
        chunks = await all_topic_bytes(admin)
        assert len(chunks) > 1000  # the run really wrote events, snapshots and cells
        blob = b"\x00".join(chunks)
        found = sorted({name for name, secret in secrets_of(state) if secret in blob})
        assert found == []
        assert sum(1 for _ in secrets_of(state)) > 50
    finally:
        await asyncio.to_thread(run, ["kafka", "down"], env, 120)
