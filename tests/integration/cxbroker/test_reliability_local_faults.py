"""Local faults: the joiner's state dir or the publisher's spool dir unwritable or full.

Each must end in a clear one-line error and a non-zero exit, never silent loss: the
joiner commits nothing it could not store (a later run with a usable state dir joins
every event), and the publisher accepts no record it could not spool.

Read-only and full directories are real file systems: as root (this CI), a tmpfs mounted
read-only or with a 64 KiB size; without root, a read-only directory is a 0500 directory
and a full one cannot be made, which fails the test with that explanation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broker.keyring import Keyring
from broker.settings import Settings
from contracts.events import CxEvent
from cxbroker.exitcodes import ExitCode
from tests.support.files import AGENCY, LIFE_EXPERIENCES, good, write_csv
from tests.support.joiner import (
    Env,
    assert_matches_reference,
    joined_history,
    make_env,
    produce,
    reference,
    sign,
    subprocess_env,
)
from tests.support.journeys import make_workload
from tests.support.kafka import KafkaEndpoint

pytestmark = pytest.mark.kafka

SPOOL_EXIT_CODE = ExitCode.SPOOL_FAILED


@contextlib.contextmanager
def special_dir(path: Path, *, read_only: bool = False, size: str = "64k") -> Iterator[Path]:
    """An empty directory on its own small file system (read-only if asked)."""
    path.mkdir(parents=True)
    if os.geteuid() != 0:
        if not read_only:
            pytest.fail("a full file system needs a tmpfs mount, which needs root")
        path.chmod(0o500)
        try:
            yield path
        finally:
            path.chmod(0o700)
        return
    options = f"size={size},mode=0700" + (",ro" if read_only else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cxbroker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_clear_failure(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """Non-zero exit, no traceback, and a message naming what went wrong."""
    assert done.returncode != 0, done.stdout[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    for word in words:
        assert word in done.stderr, done.stderr[-3000:]
    return done.stderr


async def _join_with_broken_state_dir(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str], fault: str
) -> tuple[subprocess.CompletedProcess[str], Path, Env, list[CxEvent]]:
    env = await make_env(kafka.bootstrap_servers, tmp_path, unique("fault"), unique("joiner"))
    events = make_workload(91, 12)
    await produce(env, sign(env, events))
    with special_dir(tmp_path / "bad-state", read_only=fault == "read-only") as bad:
        broken = env.settings.model_copy(update={"state_dir": bad})
        done = await asyncio.to_thread(
            run_cli,
            ["join", "--group", env.group, "--until-idle", "3", "--grace", "30d"],
            subprocess_env(broken),
        )
    return done, bad, env, events


@pytest.mark.parametrize("fault", ["read-only", "full"])
async def test_joiner_state_dir_fault_exits_nonzero_and_loses_nothing(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str], fault: str
) -> None:
    done, _, env, events = await _join_with_broken_state_dir(kafka, tmp_path, unique, fault)
    print(f"joiner state {fault}: exit {done.returncode}: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode != 0
    # Nothing was lost: a run with a usable state dir joins every event.
    ok = await asyncio.to_thread(
        run_cli,
        ["join", "--group", env.group, "--until-idle", "3", "--grace", "30d"],
        subprocess_env(env.settings),
    )
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert_matches_reference(await joined_history(env.settings), reference(events))


@pytest.mark.parametrize(
    ("fault", "cause"), [("read-only", "Read-only file system"), ("full", "No space left")]
)
async def test_joiner_state_dir_fault_is_one_clear_line(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str], fault: str, cause: str
) -> None:
    done, bad, _, _ = await _join_with_broken_state_dir(kafka, tmp_path, unique, fault)
    assert_clear_failure(done)
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("cxbroker: error:")
    assert str(bad) in last and cause in last


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("fault", "rows"), [("read-only", 20), ("full", 400)])
def test_publisher_spool_fault_is_a_clear_error_and_accepts_nothing_silently(
    tmp_path: Path, fault: str, rows: int
) -> None:
    keyring = Keyring(tmp_path / "keyring")
    keyring.init([AGENCY], LIFE_EXPERIENCES)
    csv = tmp_path / "rows.csv"
    write_csv(csv, [good(i % 4, 1000 + i) for i in range(rows)])
    with special_dir(tmp_path / "bad-state", read_only=fault == "read-only") as bad:
        offline = Settings(
            bootstrap_servers=f"127.0.0.1:{_closed_port()}",
            topic_prefix="offline.",
            state_dir=bad,
            keyring_dir=tmp_path / "keyring",
        )
        done = run_cli(["publish", "--agency", AGENCY, "--file", str(csv)], subprocess_env(offline))
        assert done.returncode == SPOOL_EXIT_CODE, done.stderr[-3000:]
        assert_clear_failure(done, "spool")
        print(f"publisher spool {fault}: {done.stderr.strip().splitlines()[-1]}")
