"""``cxbroker join``: a thin click wrapper around the joiner."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from broker.errors import AccessDenied
from broker.files import write_atomic
from broker.security.credentials import ADMIN
from broker.security.errors import denied_as, group_advice
from broker.security.probe import authentication_failure
from broker.security.profile import load_settings
from consumers.errors import JoinerError, MissingTopics, StateStoreError, StoreError
from consumers.joiner import Joiner
from consumers.joiner.health import RepeatedLogFilter
from consumers.joiner.metrics import JoinerMetrics
from consumers.joiner.validate import TimeBounds
from consumers.journey.processor import DEFAULT_GRACE
from consumers.journey.rules import load_rules
from cxbroker.defaults import JOINER_GROUP, JOINER_INSTANCE
from cxbroker.observe import METRICS_PORT_OPTION, serve_metrics, setup_logging
from cxbroker.options import parse_duration

__all__ = ["join"]

#: The access plan's principal that joins.
JOINER = "joiner"


def _logging() -> None:
    # Plain text or JSON lines (CX_LOG_FORMAT); aiokafka's INFO lines (every assigned
    # partition) left out. In an outage aiokafka logs the same connection/fetch error many
    # times a second; the joiner's own "kafka unreachable" status line says it once per
    # backoff step instead.
    setup_logging().addFilter(RepeatedLogFilter())


@click.command()
@click.option(
    "--until-idle",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Exit once no record arrived for this long (default: run until SIGINT/SIGTERM).",
)
@click.option(
    "--group",
    default=None,
    help=f"Consumer group (default: {JOINER_GROUP}, under CX_TOPIC_PREFIX; the access plan "
    f"grants the joiner {JOINER_GROUP}*).",
)
@click.option(
    "--instance",
    default=JOINER_INSTANCE,
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
@click.option(
    "--retention",
    default=None,
    help="Forget a journey this long (event time, s/m/h/d) after it closed, for every life "
    "experience (default: each life experience's catalog retention, 400 days).",
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
@METRICS_PORT_OPTION
def join(
    until_idle: float | None,
    group: str | None,
    instance: str,
    grace: str,
    max_ahead: str,
    max_behind: str,
    session_timeout: float,
    retention: str | None,
    max_batch: int,
    status_interval: float,
    stats_file: Path | None,
    metrics_port: int | None,
) -> None:
    """Join agency events into journeys (exactly once) and publish snapshots.

    With --metrics-port, Prometheus metrics (cx_joiner_*) on /metrics, /healthz (alive) and
    /readyz (partitions assigned and their state restored) on that port.
    """
    _logging()
    settings = load_settings()
    joiner = Joiner(
        settings,
        group=group or settings.topics.group(JOINER_GROUP),
        instance=instance,
        grace=parse_duration(grace),
        until_idle=until_idle,
        max_batch=max_batch,
        status_interval=status_interval,
        time_bounds=TimeBounds(parse_duration(max_ahead), parse_duration(max_behind)),
        session_timeout_ms=round(session_timeout * 1000),
        rules=None if retention is None else load_rules().with_retention(parse_duration(retention)),
    )

    registry = CollectorRegistry()
    metrics = JoinerMetrics(joiner, registry)

    async def main() -> str:
        # A refused login first, as one line: aiokafka would log it as a connection ERROR
        # and go on retrying, which reads like an outage.
        if (refused_login := await authentication_failure(settings)) is not None:
            raise refused_login
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, joiner.stop_soon)
        try:
            async with (
                serve_metrics(
                    metrics_port, registry, ready=metrics.ready, before_scrape=metrics.refresh
                ),
                joiner,
            ):
                await joiner.run()
                return joiner.status_line()
        finally:
            # Also after a failure: the counters reached before it stopped (a supervisor
            # such as `cxbroker demo` sums these files over its joiner processes).
            if stats_file is not None:
                stats_file.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(stats_file, joiner.stats.to_json(), mode=0o644)

    refused = denied_as(
        settings.sasl_username,
        "join",
        "agency events (read cx.events.*, write cx.joined.*)",
        needed=JOINER,
        advice=(
            f"its transactional id is <group>.<instance> ({group}.{instance}): "
            f"{group_advice(JOINER, settings.topic_prefix)}"
            if settings.sasl_username == JOINER
            else None
        ),
        group=group,
        prefix=settings.topic_prefix,
    )
    try:
        with refused:
            line = asyncio.run(main())
    except StateStoreError:
        raise  # already one line naming the state dir and the cause
    except MissingTopics as exc:
        user = settings.sasl_username
        if user in (None, JOINER, ADMIN):
            raise
        # Kafka lists only the topics a principal may describe.
        raise AccessDenied(
            f"{user} cannot see the joiner's topics (Kafka lists only the topics a principal "
            f"may describe); the joiner runs as {JOINER}: CX_PROFILE={JOINER}"
        ) from exc
    except (KafkaError, StoreError) as exc:
        # The transaction in flight was aborted and local state rolled back: a restart
        # resumes from the last commit.
        raise JoinerError(f"joiner stopped on {type(exc).__name__}: {exc}; restart it") from exc
    click.echo(f"joiner stopped: {line}")
