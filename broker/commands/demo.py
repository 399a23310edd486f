"""``cxbroker demo``: the main job, end to end. Until the simulator and joiner land it starts
Kafka (or uses ``CX_BOOTSTRAP_SERVERS``), applies the topic plan and prints the cluster status."""

from __future__ import annotations

import asyncio
import time

import click
from rich.console import Console

from broker.admin import admin_client
from broker.commands.init import print_result, run_init
from broker.kafka.launcher import start_cluster
from broker.settings import Settings

__all__ = ["demo"]


async def _demo(settings: Settings, console: Console) -> None:
    started = time.monotonic()
    if not settings.bootstrap_servers:
        state = await start_cluster(settings, nodes=1)
        how = "reused" if state.reused else "started"
        console.print(f"local Kafka {state.kafka_version} {how} at {state.bootstrap_servers}")
    plan, result = await run_init(settings)
    print_result(plan, result, console)
    result.raise_for_conflicts()
    async with admin_client(settings) as admin:
        meta = await admin.describe_cluster()
        topics = [
            t for t in await admin.list_topics() if t.startswith(settings.topics.prefix + "cx.")
        ]
    console.print(
        f"cluster {meta['cluster_id']}: {len(meta['brokers'])} broker(s), controller "
        f"{meta['controller_id']}, {len(topics)} cx topics"
    )
    console.print(f"demo finished in {time.monotonic() - started:.1f}s")


@click.command()
def demo() -> None:
    """Run the main job against local Kafka (or CX_BOOTSTRAP_SERVERS)."""
    asyncio.run(_demo(Settings(), Console()))
