"""Watching a running process: Prometheus metrics, health endpoints and structured logs.

* :mod:`broker.observe.server` - ``/metrics``, ``/healthz`` and ``/readyz`` on one port,
  served from the process's own event loop (``--metrics-port``, ``CX_METRICS_PORT``).
* :mod:`broker.observe.logs` - JSON lines when ``CX_LOG_FORMAT=json``, plain text otherwise.

Every process has its own :class:`prometheus_client.CollectorRegistry` (never the global
one), so several services in one process (tests) never collide. Labels carry names from
the catalog and the topic plan, reason codes and partition numbers: never a payload value
or a token.
"""

from broker.observe.logs import JsonFormatter, configure_logging
from broker.observe.server import ObserveServer, Readiness

__all__ = ["JsonFormatter", "ObserveServer", "Readiness", "configure_logging"]
