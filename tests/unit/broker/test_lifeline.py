"""``CX_PARENT_PID``: a ``cxbroker`` child ends (SIGTERM) when its parent is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from broker.lifeline import LINUX, PARENT_ENV, child_env, follow_parent

WAIT_S = 30.0

# The middle process starts the child with child_env() (its own pid), prints the child's
# pid and then blocks until killed. The child arranges its SIGTERM, says so in a file,
# and on SIGTERM writes "terminated" and exits.
MIDDLE = """
import os, subprocess, sys
from broker.lifeline import child_env
args = [sys.executable, "-c", sys.argv[1], sys.argv[2]]
child = subprocess.Popen(args, env=child_env(os.environ))
print(child.pid, flush=True)
sys.stdin.read()
"""
CHILD = """
import signal, sys, threading
from pathlib import Path
from broker.lifeline import follow_parent
out = Path(sys.argv[1])
def stop(signum, frame):
    out.write_text("terminated")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
out.write_text("following" if follow_parent() else "not following")
threading.Event().wait()
"""


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT_S:.0f}s: {what}")
        threading.Event().wait(0.05)


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_child_gets_sigterm_when_its_parent_is_killed(tmp_path: Path) -> None:
    marker = tmp_path / "child.txt"
    env = {k: v for k, v in os.environ.items() if k != PARENT_ENV}
    middle = subprocess.Popen(
        [sys.executable, "-c", MIDDLE, CHILD, str(marker)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert middle.stdout is not None
    child_pid = int(middle.stdout.readline())
    try:
        wait_until(lambda: read(marker).endswith("following"), "child started")
        assert read(marker) == ("following" if LINUX else "not following")
        if not LINUX:
            return  # no parent-death signal to test
        middle.kill()
        middle.wait(WAIT_S)
        wait_until(lambda: read(marker) == "terminated", "child got SIGTERM")
    finally:
        if middle.poll() is None:
            middle.kill()
            middle.wait()
        if read(marker) != "terminated":
            os.kill(child_pid, signal.SIGKILL)


def test_without_the_variable_nothing_is_arranged() -> None:
    environ = {"CX_OTHER": "1"}
    assert follow_parent(environ) is False
    assert environ == {"CX_OTHER": "1"}


def test_child_env_names_this_process_and_keeps_the_rest() -> None:
    env = child_env({"CX_PROFILE": "joiner"})
    assert env == {"CX_PROFILE": "joiner", PARENT_ENV: str(os.getpid())}


@pytest.mark.parametrize(
    ("value", "message"),
    [("not-a-pid", "CX_PARENT_PID must be a process id"), ("999999999", "has exited")],
)
def test_cli_with_a_bad_or_gone_parent_fails_in_one_line(value: str, message: str) -> None:
    env = {**os.environ, PARENT_ENV: value}
    result = subprocess.run(
        [sys.executable, "-m", "cxbroker", "contracts", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    if value.isdigit() and not LINUX:  # a pid is only checked where it can be followed
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
