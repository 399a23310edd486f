"""``cxbroker tail joined|deadletter``: follow joined journeys or dead letters live.

Snapshots are verified (``subscribe()``): a record that is not signed by a joiner
deployment of the public keyring is not printed; a line on stderr gives its coordinates
and reason. ``--output json`` prints one JSON object per line (never shortened). As a Kafka
user expects: ``--count``, ``--partition``/``--offset``, ``--key``, ``--headers``,
``--full-tokens``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import TypeVar

import click

from broker.security.profile import load_settings
from consumers.subscribe import Delivered, Rejection, journeys, subscribe_deadletters
from contracts.joined import JourneySnapshot
from contracts.protected import ProtectedSnapshot

__all__ = ["tail"]

T = TypeVar("T")


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
_COUNT = click.option(
    "--count", type=click.IntRange(min=1), default=None, help="Exit after this many records."
)
_OUTPUT = click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one short line each; json: one JSON object per line, for scripts.",
)


def _report(rejection: Rejection) -> None:
    # Coordinates and reason only: never the key or value of a rejected record.
    click.echo(
        f"rejected {rejection.topic}[{rejection.partition}]@{rejection.offset}: "
        f"{rejection.reason}: {rejection.detail}",
        err=True,
    )


@tail.command("joined")
@click.argument("life_experience")
@click.option("--group", default=None, help="Consumer group (keeps the position).")
@_IDLE
@_LATEST
@_COUNT
@click.option("--partition", type=int, default=None, help="Read this partition only.")
@click.option("--offset", type=int, default=None, help="Start at this offset (with --partition).")
@click.option("--key", default=None, metavar="TOKEN", help="Only this journey token.")
@click.option("--headers", is_flag=True, help="Also print coordinates and CloudEvents headers.")
@click.option("--full-tokens", is_flag=True, help="Whole journey tokens in text lines.")
@_OUTPUT
def tail_joined(
    life_experience: str,
    group: str | None,
    idle: float | None,
    latest: bool,
    count: int | None,
    partition: int | None,
    offset: int | None,
    key: str | None,
    headers: bool,
    full_tokens: bool,
    output: str,
) -> None:
    """Print verified journey snapshots of LIFE_EXPERIENCE, one line each (token shortened).

    The principal's tier decides which: k-protected journeys (default tier) or the fine
    ones (restricted tier, see broker/access.toml). Both are verified (signed by a joiner
    deployment); a rejected record is reported on stderr.
    """

    async def main() -> None:
        source = journeys(
            life_experience,
            group=group,
            settings=load_settings(),
            from_beginning=not latest,
            on_rejected=_report,
            partition=partition,
            offset=offset,
        )
        shown = 0
        async for delivered in _until_idle(source, idle):
            if key is not None and delivered.snapshot.journey_token != key:
                continue
            click.echo(_render(delivered, output, headers=headers, full_tokens=full_tokens))
            shown += 1
            if count is not None and shown >= count:
                break

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def _render(delivered: Delivered, output: str, *, headers: bool, full_tokens: bool) -> str:
    snap = delivered.snapshot
    if output == "json":
        if not headers:
            return snap.model_dump_json()
        document = {
            "topic": delivered.topic,
            "partition": delivered.partition,
            "offset": delivered.offset,
            "timestamp_ms": delivered.timestamp_ms,
            "headers": dict(delivered.headers),
            "snapshot": json.loads(snap.model_dump_json()),
        }
        return json.dumps(document)
    line = _line(snap)
    if full_tokens:
        line = snap.journey_token + line[line.index("…") + 1 :]
    if headers:
        shown = " ".join(f"{name}={value}" for name, value in delivered.headers)
        line = f"{delivered.topic}[{delivered.partition}]@{delivered.offset} {line}\n  {shown}"
    return line


def _line(snap: JourneySnapshot | ProtectedSnapshot) -> str:
    if isinstance(snap, ProtectedSnapshot):
        path = ">".join(
            s.agency
            + (f":{s.stage.value}" if s.stage else "")
            + ("" if s.day is None else f"@d{s.day}")
            for s in snap.steps
        )
        days = "-" if snap.elapsed_days is None else str(snap.elapsed_days)
        return (
            f"{snap.journey_token[:8]}… {snap.status.value:<9} start={snap.start} "
            f"precision={snap.precision.value} days={days} k>={snap.k} {path}"
        )
    path = ">".join(f"{s.agency}:{s.stage.value}" for s in snap.agencies)
    return (
        f"{snap.journey_token[:8]}… v{snap.snapshot_version} {snap.status.value:<9} "
        f"events={snap.event_counts.total} late={snap.late_events} "
        f"last={snap.last_event_at:%Y-%m-%d} {path}"
    )


@tail.command("deadletter")
@click.option("--group", default=None, help="Consumer group (keeps the position).")
@_IDLE
@_LATEST
@_COUNT
@_OUTPUT
def tail_deadletter(
    group: str | None, idle: float | None, latest: bool, count: int | None, output: str
) -> None:
    """Print rejected records: reason code, detail and source coordinates (never payloads)."""

    async def main() -> None:
        source = subscribe_deadletters(
            group=group, settings=load_settings(), from_beginning=not latest
        )
        shown = 0
        async for letter in _until_idle(source, idle):
            if output == "json":
                click.echo(json.dumps(dataclasses.asdict(letter)))
            else:
                click.echo(
                    f"{letter.reason:<24} {letter.topic}[{letter.partition}]@{letter.offset} "
                    f"{letter.detail}"
                )
            shown += 1
            if count is not None and shown >= count:
                break

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
