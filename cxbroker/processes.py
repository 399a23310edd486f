"""Child processes of a supervisor: ``cxbroker`` commands started, watched and reaped.

The demo runs its joiners and insights computations as ``cxbroker join`` and ``cxbroker
insights`` processes (so joining runs on other cores than publishing), and the soak
benchmark runs its joiner the same way. Both start, watch and stop them here: each child
logs to a file, gets a session of its own, receives SIGTERM (then SIGKILL) only from its
supervisor, and SIGTERM from Linux should the supervisor be killed outright
(:mod:`broker.lifeline`).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from broker.lifeline import child_env
from broker.settings import Settings
from consumers.joiner import JoinerStats
from cxbroker.errors import ProcessFailed

__all__ = [
    "Processes",
    "joiner_totals",
    "principal_env",
    "start_joiners",
]


def principal_env(
    settings: Settings, secured: bool, principal: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """Environment of a sub-process: ``environ`` plus the supervisor's deployment settings.

    The process sees the same state dir, keyring, topic prefix and partitions as the
    supervisor; on a secured local cluster it acts as ``principal`` (``CX_PROFILE``),
    exactly as :func:`broker.security.profile.principal_settings` would. Everything else
    ``environ`` says (an explicit ``CX_BOOTSTRAP_SERVERS``, credentials) passes unchanged.
    """
    env = dict(environ)
    env.update(
        CX_STATE_DIR=str(settings.state_dir),
        CX_KEYRING_DIR=str(settings.keyring_path),
        CX_CACHE_DIR=str(settings.cache_dir),
        CX_TOPIC_PREFIX=settings.topic_prefix,
        CX_PARTITIONS=str(settings.partitions),
    )
    if settings.bootstrap_servers:
        env["CX_BOOTSTRAP_SERVERS"] = settings.bootstrap_servers
    if secured:
        env["CX_PROFILE"] = principal
    return env


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


def _how(code: int | None) -> str:
    if code is not None and code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


class Processes:
    """``cxbroker`` sub-processes a supervisor (the demo, the soak) starts, and alone stops.

    Each writes its log (stderr and stdout) to ``<work_dir>/<name>.log``. Every process
    gets a session of its own (``start_new_session``): Ctrl-C in the terminal signals the
    terminal's foreground process group, and a child in that group would race the demo's
    own shutdown (a SIGINT during its interpreter start-up is a traceback, not a clean
    stop). Instead the demo alone decides when they stop: :meth:`stop` sends SIGTERM,
    which ``cxbroker join`` handles like SIGINT (finish the batch in flight, commit,
    leave the group), and SIGKILL only after ``stop_timeout`` seconds. Should the demo be
    killed outright, the children get SIGTERM from Linux (:mod:`broker.lifeline`).
    """

    def __init__(self, work_dir: Path, *, stop_timeout: float = 30.0) -> None:
        self.work_dir = work_dir
        self.stop_timeout = stop_timeout
        self._children: list[_Child] = []
        self._stopping = False

    @property
    def pids(self) -> list[int]:
        """Process ids of the processes started so far."""
        return [child.process.pid for child in self._children]

    @property
    def returncodes(self) -> list[int | None]:
        """Exit codes of the processes started so far (None while one runs)."""
        return [child.process.poll() for child in self._children]

    def log(self, name: str) -> Path:
        """Where the process ``name`` writes its output."""
        return self.work_dir / f"{name}.log"

    def start(self, name: str, args: Sequence[str], env: Mapping[str, str]) -> None:
        """Start ``cxbroker ARGS`` (this interpreter, ``-m cxbroker``) as process ``name``."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log(name)
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "cxbroker", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=child_env(env),
                start_new_session=True,
            )
        self._children.append(_Child(name, process, log_path))

    def _failure(self, child: _Child, when: str) -> ProcessFailed:
        code = child.process.returncode
        what = f"{child.name} {_how(code)}" + (f" {when}" if when else "")
        return ProcessFailed(f"{what}; last lines of {child.log}:\n{_tail(child.log)}")

    def check(self) -> None:
        """Raise :class:`ProcessFailed` when a process has exited before :meth:`stop`."""
        if self._stopping:
            return
        for child in self._children:
            if child.process.poll() is not None:
                raise self._failure(child, "before the demo finished")

    async def finished(self) -> None:
        """Wait until every process has exited by itself; :class:`ProcessFailed` unless with 0."""
        for child in self._children:
            await asyncio.to_thread(child.process.wait)
            if child.process.returncode != 0:
                raise self._failure(child, "")

    def stop(self) -> None:
        """SIGTERM every running process, wait, SIGKILL those still running; reap all.

        Idempotent. Blocking: call it in a thread from async code.
        """
        self._stopping = True
        for child in self._children:
            if child.process.poll() is None:
                # Popen.send_signal only signals its own, not yet reaped, child.
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in self._children:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()

    def require_clean_exit(self) -> None:
        """After :meth:`stop`: :class:`ProcessFailed` naming the log of a process that failed."""
        for child in self._children:
            if child.process.returncode != 0:
                raise self._failure(child, "when asked to stop")


def start_joiners(
    processes: Processes, count: int, group: str, env: Mapping[str, str]
) -> list[Path]:
    """Start ``count`` ``cxbroker join`` processes of ``group`` (instances ``0..count-1``).

    Returns the files where each writes its counters on exit (``--stats-file``).
    """
    stats_files = []
    for instance in range(count):
        stats_file = processes.work_dir / f"joiner-{instance}.stats.json"
        stats_file.unlink(missing_ok=True)  # a previous run's counters are not ours
        processes.start(
            f"joiner-{instance}",
            [
                "join",
                "--group",
                group,
                "--instance",
                str(instance),
                "--stats-file",
                str(stats_file),
            ],
            env,
        )
        stats_files.append(stats_file)
    return stats_files


def joiner_totals(stats_files: Sequence[Path]) -> JoinerStats:
    """The joiner counters summed over ``stats_files``; :class:`ProcessFailed` if one is missing."""
    parts = []
    for path in stats_files:
        try:
            parts.append(JoinerStats.from_json(path.read_bytes()))
        except (OSError, ValueError) as exc:
            raise ProcessFailed(
                f"a joiner left no readable counters at {path} ({type(exc).__name__})"
            ) from exc
    return JoinerStats.total(parts)
