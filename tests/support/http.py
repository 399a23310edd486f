"""A minimal HTTP GET for tests that scrape /metrics, /healthz and /readyz (no client lib)."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["http_get", "sample"]


async def http_get(port: int, path: str, host: str = "127.0.0.1") -> tuple[int, str]:
    """Status code and body of ``GET path``."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return int(head.split(" ", 2)[1]), body


def sample(text: str, name: str, labels: dict[str, str] | None = None) -> float | None:
    """The value of sample ``name`` with exactly ``labels`` in an exposition ``text``."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == (labels or {}):
                return float(s.value)
    return None
