"""`cxbroker demo` on its own secured cluster (SCRAM over TLS, ACLs, one principal per role).

One cluster serves three runs (a cluster start costs more than a short demo):

1. Ctrl-C on a demo that started the cluster: exit 130, one line, and every process it
   started (joiner processes, Kafka node) is gone;
2. a whole demo on the restarted cluster; afterwards every byte of every topic (keys,
   values, headers; aborted transactions included) is scanned for linkage keys, private
   signing keys and principal passwords;
3. Ctrl-C on a demo that reused the running cluster: the cluster stays up;
4. SIGKILL on a demo (nothing of it runs to clean up): its joiner processes still get
   SIGTERM, from Linux (``CX_PARENT_PID``, ``PR_SET_PDEATHSIG``), and stop gracefully.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from broker.admin import admin_client
from broker.security.profile import load_settings
from broker.settings import Settings

pytestmark = pytest.mark.kafka

#: Joiner processes the interrupted demos start.
JOINERS = 2
#: Seconds allowed for each wait on the demo (start-up, joiners assigned, exit after Ctrl-C).
WAIT_S = 90.0


def run(
    args: list[str], env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cxbroker", *args],
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


def wait_until(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Poll ``check`` until it is true, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        threading.Event().wait(0.1)


def stat_of(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent pid, process group, session) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid, pgrp, session = text.rsplit(")", 1)[1].split()[:4]
    return state, int(ppid), int(pgrp), int(session)


def exists(pid: int) -> bool:
    """True while ``pid`` exists, a zombie (exited, not reaped) included."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running(pid: int) -> bool:
    """True while ``pid`` exists and has not exited (a zombie has)."""
    stat = stat_of(pid)
    return stat is not None and stat[0] != "Z"


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


@dataclass
class Interrupted:
    """What an interrupted demo left behind."""

    returncode: int
    stdout: str
    stderr: str
    joiner_pids: list[int]
    joiner_logs: list[str]
    #: the Kafka node pids recorded in the state dir when Ctrl-C was sent
    node_pids: list[int]
    #: pids of processes still in the demo's session or process group after it exited
    strays: list[int]


class DemoProcess:
    """``cxbroker demo`` in a session of its own, like a terminal's foreground job."""

    def __init__(self, args: list[str], env: dict[str, str], stderr: Path) -> None:
        with stderr.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cxbroker", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        self.stderr = stderr
        self.lines: list[str] = []
        self._eof = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def wait_for_line(self, prefix: str) -> None:
        """Wait until the demo printed a line starting with ``prefix``."""

        def seen() -> bool:
            return self._eof or any(line.startswith(prefix) for line in self.lines)

        with self._changed:
            self._changed.wait_for(seen, WAIT_S)
            assert any(line.startswith(prefix) for line in self.lines), (
                f"no {prefix!r} line: " + "".join(self.lines)[-2000:] + self.stderr.read_text()
            )

    def children(self) -> list[int]:
        """Processes whose parent is the demo."""
        return [
            pid
            for pid in all_pids()
            if (stat := stat_of(pid)) is not None and stat[1] == self.process.pid
        ]

    def interrupt(self) -> int:
        """Ctrl-C as a terminal sends it (SIGINT to the foreground process group)."""
        os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(WAIT_S)
        self._reader.join(WAIT_S)
        return code

    def kill_leftovers(self, pids: list[int]) -> None:
        """After a failed assertion: end the demo and the given descendants of it."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in pids:
            if exists(pid):
                os.kill(pid, signal.SIGKILL)


def interrupt_demo(
    state: Path, env: dict[str, str], tmp: Path, *, kill: bool = False
) -> Interrupted:
    """Start a 2,000-journey demo, Ctrl-C it (or SIGKILL it) once its joiners own partitions."""
    demo = DemoProcess(
        ["demo", "--journeys", "2000", "--joiners", str(JOINERS)], env, tmp / "demo.err"
    )
    joiners: list[int] = []
    logs = [state / "demo" / f"joiner-{i}.log" for i in range(JOINERS)]
    try:
        demo.wait_for_line("publishing ")
        # Started before that line: children of the demo running `cxbroker join`.
        joiners = [
            pid
            for pid in demo.children()
            if b"\0join\0" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(joiners) == JOINERS, demo.children()

        def assigned() -> bool:
            pattern = re.compile(r"assigned partitions \[\d")
            return all(log.exists() and pattern.search(log.read_text()) for log in logs)

        # Interrupt mid-run: publishers open, every joiner in the group with partitions.
        wait_until(assigned, "every joiner process assigned partitions")
        nodes = node_pids(state)
        if kill:
            demo.process.kill()
            code = demo.process.wait(WAIT_S)
            # Orphans now: not ours to reap, so wait until they have exited.
            wait_until(
                lambda: not any(running(pid) for pid in joiners), "joiners ended with the demo"
            )
        else:
            code = demo.interrupt()
    finally:
        demo.kill_leftovers(joiners)
    pid = demo.process.pid
    strays = [
        p for p in all_pids() if (stat := stat_of(p)) is not None and pid in (stat[2], stat[3])
    ]
    return Interrupted(
        code,
        "".join(demo.lines),
        demo.stderr.read_text(),
        joiners,
        [log.read_text() for log in logs],
        nodes,
        strays,
    )


def check_interrupted(run: Interrupted) -> None:
    """Exit 130 with one line; joiners stopped gracefully and reaped; nothing stray."""
    assert run.returncode == 130, run.stdout[-2000:] + run.stderr[-2000:]
    interrupted = [line for line in run.stdout.splitlines() if line.startswith("interrupted:")]
    assert len(interrupted) == 1, run.stdout
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert [pid for pid in run.joiner_pids if exists(pid)] == []
    for log in run.joiner_logs:  # SIGTERM made each finish its batch and leave the group
        assert "joiner stopped: records=" in log, log[-2000:]
    assert run.strays == []


def node_pids(state: Path) -> list[int]:
    """The Kafka node processes recorded in the state dir."""
    cluster = json.loads((state / "kafka" / "cluster.json").read_text())
    return [node["pid"] for node in cluster["nodes"] if node["pid"]]


async def test_secured_demo_stops_on_ctrl_c_runs_as_principals_and_leaks_no_secret(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    env.update(CX_STATE_DIR=str(state), COLUMNS="200")
    try:
        # 1. This demo starts the cluster, so Ctrl-C stops it too.
        first = await asyncio.to_thread(interrupt_demo, state, env, tmp_path)
        check_interrupted(first)
        assert "(started)" in first.stdout
        assert "local Kafka is not running" in first.stdout
        assert first.node_pids  # the node ran when Ctrl-C came; now it is gone and reaped
        assert [pid for pid in first.node_pids if exists(pid)] == []
        assert node_pids(state) == []

        # 2. A whole run: the demo restarts the stopped cluster and leaves it running.
        result = await asyncio.to_thread(
            run,
            ["demo", "--journeys", "120", "--seed", "5", "--report", str(tmp_path / "r.html")],
            env,
        )
        assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
        assert "security sasl-tls" in result.stdout
        assert "0 dead letters" in result.stdout
        nodes = node_pids(state)
        assert nodes and all(exists(pid) for pid in nodes)

        # 3. Ctrl-C on a demo that reused the cluster: the cluster keeps running.
        third = await asyncio.to_thread(interrupt_demo, state, env, tmp_path)
        check_interrupted(third)
        assert "(reused)" in third.stdout
        assert "local Kafka keeps running" in third.stdout
        assert third.node_pids == nodes == node_pids(state)
        assert all(exists(pid) for pid in nodes)

        # 4. SIGKILL: the demo cannot stop anything, yet its joiners end, gracefully.
        killed = await asyncio.to_thread(interrupt_demo, state, env, tmp_path, kill=True)
        assert killed.returncode == -signal.SIGKILL
        assert len(killed.joiner_pids) == JOINERS
        assert not any(running(pid) for pid in killed.joiner_pids)
        for log in killed.joiner_logs:  # SIGTERM made each finish its batch and leave the group
            assert "joiner stopped: records=" in log, log[-2000:]
        assert killed.node_pids == nodes == node_pids(state)

        admin = load_settings(state_dir=state, profile="admin")
        assert admin.security_protocol.value == "SASL_SSL"
        chunks = await all_topic_bytes(admin)
        assert len(chunks) > 1000  # the runs really wrote events, snapshots and cells
        blob = b"\x00".join(chunks)
        found = sorted({name for name, secret in secrets_of(state) if secret in blob})
        assert found == []
        assert sum(1 for _ in secrets_of(state)) > 50
    finally:
        await asyncio.to_thread(run, ["kafka", "down"], env, 120)
