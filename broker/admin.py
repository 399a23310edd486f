"""A started Kafka admin client for the configured cluster, with one clear error when it is down."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from broker.errors import BrokerUnavailable
from broker.security.errors import access_denied_from, is_access_error
from broker.security.probe import authentication_failure
from broker.settings import Settings

__all__ = ["admin_client", "broker_count"]


@contextlib.asynccontextmanager
async def admin_client(settings: Settings, timeout_ms: int = 15000) -> AsyncIterator[Any]:
    """Yield a started ``AIOKafkaAdminClient``; raise :class:`BrokerUnavailable` if unreachable."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaConnectionError, KafkaError

    kwargs = settings.kafka_client_kwargs()
    admin = AIOKafkaAdminClient(request_timeout_ms=timeout_ms, **kwargs)
    try:
        await admin.start()
    except (KafkaConnectionError, KafkaError, OSError) as exc:
        with contextlib.suppress(Exception):
            await admin.close()
        if is_access_error(exc):
            raise access_denied_from(
                exc, settings.sasl_username, "describe", "the cluster"
            ) from exc
        if (refused := await authentication_failure(settings)) is not None:
            raise refused from exc  # a refused login reads like an outage in aiokafka
        raise BrokerUnavailable(
            f"cannot reach Kafka at {kwargs['bootstrap_servers']}: {type(exc).__name__}"
        ) from exc
    try:
        yield admin
    finally:
        await admin.close()


async def broker_count(admin: Any) -> int:
    """Number of brokers of the cluster: the live ones and any that hold a replica.

    KRaft's DescribeCluster lists only the brokers that are up, so with one node of three
    down the count would be 2 and a plan made from it would create topics with two
    replicas (and report the existing three-replica topics as conflicts). A stopped
    broker still appears in the replica lists of the topics it holds, Kafka's internal
    ones included, so those count too.
    """
    meta = await admin.describe_cluster()
    nodes = {int(b["node_id"]) for b in meta["brokers"]}
    for topic in await admin.describe_topics():
        for partition in topic.get("partitions") or ():
            nodes.update(int(n) for n in partition.get("replicas") or ())
    return len(nodes)
