"""``cxbroker lag``: how far the joiner's consumer group is behind, per partition."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import click

from broker.lag import GroupLag, PartitionLag
from broker.security.errors import denied_as
from broker.security.profile import load_settings
from broker.settings import Settings
from contracts.catalog import load_catalog
from cxbroker.commands.join import JOINER, join

__all__ = ["lag", "lag_rows"]


def _default_group(settings: Settings) -> str:
    """The group `cxbroker join` uses when not told otherwise."""
    option = next(p for p in join.params if p.name == "group")
    return str(option.default) if option.default else f"{settings.topic_prefix}cx.joiner"


async def lag_rows(settings: Settings, group: str) -> list[PartitionLag]:
    """Committed offset, end offset and lag of ``group`` on every agency topic partition."""
    topics = [settings.topics.agency(a.id) for a in load_catalog().agencies]
    async with GroupLag(settings, group, topics) as probe:
        for _ in range(20):  # a new cluster's group coordinator appears on first use
            rows = await probe.partitions()
            if rows is not None:
                return rows
            await asyncio.sleep(0.5)
    raise click.ClickException("Kafka could not tell the group's offsets yet; try again")


def _by_partition(rows: list[PartitionLag]) -> list[dict[str, int | str | None]]:
    sums: dict[int, list[PartitionLag]] = defaultdict(list)
    for row in rows:
        sums[row.partition].append(row)
    out: list[dict[str, int | str | None]] = []
    for partition, parts in sorted(sums.items()):
        committed = [p.committed for p in parts if p.committed is not None]
        out.append(
            {
                "partition": partition,
                "committed": sum(committed) if committed else None,
                "end": sum(p.end for p in parts),
                "lag": sum(p.lag for p in parts),
            }
        )
    return out


@click.command()
@click.option(
    "--group",
    default=None,
    help="Consumer group (default: the one `cxbroker join` uses).",
)
@click.option(
    "--by-topic",
    is_flag=True,
    help="One row per agency topic and partition (default: per partition).",
)
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def lag(group: str | None, by_topic: bool, output: str) -> None:
    """The joiner's consumer-group lag per partition: committed offset, end offset
    (read_committed) and records not joined yet, summed over the agency topics (the joiner
    reads partition N of every agency topic together); --by-topic shows each topic."""
    settings = load_settings()
    group = group or _default_group(settings)
    with denied_as(
        settings.sasl_username,
        "read the offsets of",
        f"consumer group {group}",
        needed=JOINER,
        group=group,
        prefix=settings.topic_prefix,
    ):
        rows = asyncio.run(lag_rows(settings, group))
    table: list[dict[str, int | str | None]] = (
        [
            {
                "topic": r.topic,
                "partition": r.partition,
                "committed": r.committed,
                "end": r.end,
                "lag": r.lag,
            }
            for r in rows
        ]
        if by_topic
        else _by_partition(rows)
    )
    total = sum(r.lag for r in rows)
    if output == "json":
        click.echo(json.dumps({"group": group, "lag": total, "partitions": table}, indent=2))
        return
    columns = list(table[0]) if table else ["partition", "committed", "end", "lag"]
    widths = {
        c: max(len(c), *(len(str(r[c] if r[c] is not None else "-")) for r in table))
        for c in columns
    }
    click.echo(
        "  ".join(c.rjust(widths[c]) if c != "topic" else c.ljust(widths[c]) for c in columns)
    )
    for r in table:
        cells = [str(r[c] if r[c] is not None else "-") for c in columns]
        click.echo(
            "  ".join(
                v.ljust(widths[c]) if c == "topic" else v.rjust(widths[c])
                for c, v in zip(columns, cells, strict=True)
            )
        )
    click.echo(f"group {group}: {total} records not joined yet")
