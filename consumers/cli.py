"""``cxbroker join`` and ``cxbroker tail``: thin click wrappers around the joiner and the SDK."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from broker.settings import Settings
from consumers.journey.processor import DEFAULT_GRACE

if TYPE_CHECKING:
    from consumers.joiner.engine import JoinerStats

__all__ = ["join", "parse_duration", "tail"]

T = TypeVar("T")

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90``/``90s``, ``15m``, ``1h``, ``30d`` → timedelta."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise click.BadParameter("use a number with an optional unit s, m, h or d (e.g. 1h)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _stats_json(stats: JoinerStats) -> bytes:
    """The counters of a joiner run as JSON (counts and reason codes only, never values)."""
    data: dict[str, Any] = {
        "records": stats.records,
        "events": stats.events,
        "duplicates": stats.duplicates,
        "late": stats.late,
        "dead_letters": stats.dead_letters,
        "snapshots": stats.snapshots,
        "transactions": stats.transactions,
        "reasons": dict(sorted(stats.reasons.items())),
    }
    return json.dumps(data, indent=2).encode() + b"\n"


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiokafka's INFO lines list every assigned partition: keep the log to our status lines.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # In an outage aiokafka logs the same connection/fetch error many times a second; the
    # joiner's own "kafka unreachable" status line says it once per backoff step instead.
    from consumers.joiner.health import RepeatedLogFilter

    for handler in logging.getLogger().handlers:
        handler.addFilter(RepeatedLogFilter())


@click.command()
@click.option(
    "--until-idle",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Exit once no record arrived for this long (default: run until SIGINT/SIGTERM).",
)
@click.option("--group", default="cx-joiner", show_default=True, help="Consumer group.")
@click.option(
    "--instance",
    default="0",
    show_default=True,
    help="Stable id of this process in the group (transactional id and state dir).",
)
@click.option(
    "--grace",
    default=f"{int(DEFAULT_GRACE.total_seconds())}s",
    show_default=True,
    help="Events up to this far behind their journey are not counted as late (s/m/h/d).",
)
@click.option(
    "--max-ahead",
    default="1d",
    show_default=True,
    help="Dead-letter events dated more than this after their record's Kafka timestamp.",
)
@click.option(
    "--max-behind",
    default="3650d",
    show_default=True,
    help="Dead-letter events dated more than this before their record's Kafka timestamp.",
)
@click.option(
    "--session-timeout",
    type=click.FloatRange(1.0, 3600.0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Consumer group session: a killed joiner's partitions move after this long "
    "(the broker's group.min/max.session.timeout.ms bound it; 6 s minimum by default).",
)
@click.option("--max-batch", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--status-interval", type=float, default=10.0, show_default=True)
@click.option(
    "--stats-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="On exit, write the final counters (records, events, duplicates, late, "
    "dead_letters, snapshots, transactions, reasons) to this JSON file, atomically.",
)
def join(
    until_idle: float | None,
    group: str,
    instance: str,
    grace: str,
    max_ahead: str,
    max_behind: str,
    session_timeout: float,
    max_batch: int,
    status_interval: float,
    stats_file: Path | None,
) -> None:
    """Join agency events into journeys (exactly once) and publish snapshots."""
    from consumers.joiner.engine import Joiner
    from consumers.joiner.validate import TimeBounds

    _logging()
    settings = Settings()
    joiner = Joiner(
        settings,
        group=group,
        instance=instance,
        grace=parse_duration(grace),
        until_idle=until_idle,
        max_batch=max_batch,
        status_interval=status_interval,
        time_bounds=TimeBounds(parse_duration(max_ahead), parse_duration(max_behind)),
        session_timeout_ms=round(session_timeout * 1000),
    )

    async def main() -> str:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, joiner.stop_soon)
        try:
            async with joiner:
                await joiner.run()
                return joiner.status_line()
        finally:
            # Also after a failure: the counters reached before it stopped (a supervisor
            # such as `cxbroker demo` sums these files over its joiner processes).
            if stats_file is not None:
                from broker.files import write_atomic

                stats_file.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(stats_file, _stats_json(joiner.stats), mode=0o644)

    from aiokafka.errors import KafkaError

    from consumers.errors import JoinerError
    from consumers.state.base import StateStoreError, StoreError

    try:
        line = asyncio.run(main())
    except StateStoreError:
        raise  # already one line naming the state dir and the cause
    except (KafkaError, StoreError) as exc:
        # The transaction in flight was aborted and local state rolled back: a restart
        # resumes from the last commit.
        raise JoinerError(f"joiner stopped on {type(exc).__name__}: {exc}; restart it") from exc
    click.echo(f"joiner stopped: {line}")


@click.group()
def tail() -> None:
    """Follow joined journeys or dead letters live."""


async def _until_idle(source: AsyncIterator[T], idle: float | None) -> AsyncIterator[T]:
    # Stop when nothing arrived for ``idle`` seconds (None: follow forever).
    try:
        while True:
            try:
                yield await asyncio.wait_for(anext(source), idle)
            except (TimeoutError, StopAsyncIteration):
                return
    finally:
        with contextlib.suppress(Exception):
            await source.aclose()  # type: ignore[attr-defined]


_IDLE = click.option(
    "--idle", type=float, default=None, metavar="SECONDS", help="Exit when idle this long."
)
_LATEST = click.option("--latest", is_flag=True, help="Only new records (default: from start).")


@tail.command("joined")
@click.argument("life_experience")
@click.option("--group", default=None, help="Consumer group (keeps the position).")
@_IDLE
@_LATEST
def tail_joined(life_experience: str, group: str | None, idle: float | None, latest: bool) -> None:
    """Print journey snapshots of LIFE_EXPERIENCE, one line each (token shortened)."""
    from consumers.subscribe import subscribe

    async def main() -> None:
        source = subscribe(
            life_experience, group=group, settings=Settings(), from_beginning=not latest
        )
        async for snap in _until_idle(source, idle):
            path = ">".join(f"{s.agency}:{s.stage.value}" for s in snap.agencies)
            click.echo(
                f"{snap.journey_token[:8]}… v{snap.snapshot_version} {snap.status.value:<9} "
                f"events={snap.event_counts.total} late={snap.late_events} "
                f"last={snap.last_event_at:%Y-%m-%d} {path}"
            )

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@tail.command("deadletter")
@click.option("--group", default=None, help="Consumer group (keeps the position).")
@_IDLE
@_LATEST
def tail_deadletter(group: str | None, idle: float | None, latest: bool) -> None:
    """Print rejected records: reason code, detail and source coordinates (never payloads)."""
    from consumers.subscribe import subscribe_deadletters

    async def main() -> None:
        source = subscribe_deadletters(group=group, settings=Settings(), from_beginning=not latest)
        async for letter in _until_idle(source, idle):
            click.echo(
                f"{letter.reason:<24} {letter.topic}[{letter.partition}]@{letter.offset} "
                f"{letter.detail}"
            )

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
