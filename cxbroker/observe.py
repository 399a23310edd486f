"""Metrics, health and logs of the long-running commands (``join``, ``insights --serve``,
``publish``, ``simulate``): one place that reads ``--metrics-port``/``CX_METRICS_PORT`` and
``CX_LOG_FORMAT``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

import click
from prometheus_client import CollectorRegistry

from broker.observe import ObserveServer, Readiness, configure_logging
from broker.settings import Settings
from cxbroker.errors import MetricsPortUnavailable

__all__ = ["METRICS_PORT_OPTION", "serve_metrics", "setup_logging"]

METRICS_PORT_OPTION: Final = click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    envvar="CX_METRICS_PORT",
    show_envvar=True,
    help="Serve Prometheus /metrics, /healthz and /readyz on this port "
    "(CX_METRICS_HOST, default 127.0.0.1; 0: any free port, printed in the log).",
)


def setup_logging(level: int = logging.INFO) -> logging.Handler:
    """Log lines on stderr: JSON lines with ``CX_LOG_FORMAT=json``, plain text otherwise;
    aiokafka's INFO chatter (partition lists) left out."""
    handler = configure_logging(level)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    return handler


@contextlib.asynccontextmanager
async def serve_metrics(
    port: int | None,
    registry: CollectorRegistry,
    *,
    ready: Readiness | None = None,
    before_scrape: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[ObserveServer | None]:
    """The metrics and health server while the block runs (nothing when ``port`` is None)."""
    if port is None:
        yield None
        return
    server = ObserveServer(
        registry, port, host=Settings().metrics_host, ready=ready, before_scrape=before_scrape
    )
    try:
        await server.start()
    except OSError as exc:
        raise MetricsPortUnavailable(
            f"cannot serve metrics on {server.host}:{port}: {exc.strerror or exc}"
        ) from None
    try:
        yield server
    finally:
        await server.stop()
