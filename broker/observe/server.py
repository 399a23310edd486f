"""``/metrics``, ``/healthz`` and ``/readyz`` on one port, from the process's event loop.

A tiny HTTP/1.1 server on :func:`asyncio.start_server` (one request per connection): the
metrics are collected in the event loop that owns the state they read (SQLite stores,
Kafka clients), so no collector ever runs on another thread. That the server answers at
all shows the loop is alive (``/healthz``); ``/readyz`` asks the process (a joiner: its
partitions are assigned and their state restored) and answers 503 with the reason until
then, so an orchestrator can wait for it and restart one that never gets there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["ObserveServer", "Readiness"]

log = logging.getLogger("cx.observe")

#: ``() -> None`` when ready, else the reason it is not (one short line, never a value).
Readiness = Callable[[], str | None]

_READ_TIMEOUT_S: Final = 5.0
_MAX_REQUEST_BYTES: Final = 8192


class ObserveServer:
    """Serves ``registry`` and the health endpoints on ``host:port`` (port 0: any free one).

    ``before_scrape`` is awaited before each ``/metrics`` answer (a joiner reads its
    consumer positions there).
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        port: int,
        *,
        host: str = "127.0.0.1",
        ready: Readiness | None = None,
        before_scrape: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.registry = registry
        self.host = host
        self.requested_port = port
        self.ready = ready or (lambda: None)
        self.before_scrape = before_scrape
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port it listens on (after :meth:`start`)."""
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> ObserveServer:
        """Listen (raises OSError when the port is taken)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.requested_port)
        log.info("metrics and health on http://%s:%d/metrics", self.host, self.port)
        return self

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> ObserveServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def respond(self, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for a GET of ``path``."""
        path = path.split("?", 1)[0]
        if path == "/metrics":
            if self.before_scrape is not None:
                with contextlib.suppress(Exception):
                    await self.before_scrape()
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)
        if path == "/healthz":
            return 200, "text/plain; charset=utf-8", b"ok\n"
        if path == "/readyz":
            reason = self.ready()
            if reason is None:
                return 200, "text/plain; charset=utf-8", b"ready\n"
            return 503, "text/plain; charset=utf-8", f"not ready: {reason}\n".encode()
        return 404, "text/plain; charset=utf-8", b"not found: /metrics /healthz /readyz\n"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT_S)
            if len(head) > _MAX_REQUEST_BYTES:
                raise ValueError("request too large")
            method, path, _version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            if method not in ("GET", "HEAD"):
                status, ctype, body = 405, "text/plain; charset=utf-8", b"GET only\n"
            else:
                status, ctype, body = await self.respond(path)
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
                status, "Service Unavailable"
            )
            header = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode("latin-1")
            writer.write(header + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            pass
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
