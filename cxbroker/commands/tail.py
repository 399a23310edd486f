"""``cxbroker tail joined|deadletter``: follow joined journeys or dead letters live."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import click

from broker.security.profile import load_settings
from consumers.subscribe import subscribe, subscribe_deadletters
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


@tail.command("joined")
@click.argument("life_experience")
@click.option("--group", default=None, help="Consumer group (keeps the position).")
@_IDLE
@_LATEST
def tail_joined(life_experience: str, group: str | None, idle: float | None, latest: bool) -> None:
    """Print journey snapshots of LIFE_EXPERIENCE, one line each (token shortened).

    The principal's tier decides which: k-protected journeys (default tier) or the fine
    ones (restricted tier, see broker/access.toml).
    """

    async def main() -> None:
        source = subscribe(
            life_experience, group=group, settings=load_settings(), from_beginning=not latest
        )
        async for snap in _until_idle(source, idle):
            click.echo(_line(snap))

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


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
def tail_deadletter(group: str | None, idle: float | None, latest: bool) -> None:
    """Print rejected records: reason code, detail and source coordinates (never payloads)."""

    async def main() -> None:
        source = subscribe_deadletters(
            group=group, settings=load_settings(), from_beginning=not latest
        )
        async for letter in _until_idle(source, idle):
            click.echo(
                f"{letter.reason:<24} {letter.topic}[{letter.partition}]@{letter.offset} "
                f"{letter.detail}"
            )

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
