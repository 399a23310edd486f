"""Metrics and health endpoints over a real socket, and JSON log lines (no Kafka)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

from broker.observe import JsonFormatter, ObserveServer, configure_logging


async def get(port: int, path: str, method: str = "GET") -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return int(head.split(" ", 2)[1]), body


async def test_metrics_health_and_readiness_on_one_port() -> None:
    registry = CollectorRegistry()
    counter = Counter("cx_test_records", "records", ["topic"], registry=registry)
    counter.labels(topic="cx.events.ssa").inc(3)
    state: dict[str, str | None] = {"ready": "restoring the state of 2 partition(s)"}
    scrapes: list[int] = []

    async def before() -> None:
        scrapes.append(1)

    async with ObserveServer(
        registry, 0, ready=lambda: state["ready"], before_scrape=before
    ) as server:
        status, body = await get(server.port, "/metrics")
        assert status == 200
        assert 'cx_test_records_total{topic="cx.events.ssa"} 3.0' in body
        assert scrapes == [1]
        assert await get(server.port, "/healthz") == (200, "ok\n")
        assert await get(server.port, "/readyz") == (
            503,
            "not ready: restoring the state of 2 partition(s)\n",
        )
        state["ready"] = None
        assert await get(server.port, "/readyz") == (200, "ready\n")
        assert (await get(server.port, "/nope"))[0] == 404
        assert (await get(server.port, "/metrics", "POST"))[0] == 405
        # A client that sends garbage and hangs up does not stop the server.
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"\x00\x01")
        writer.close()
        assert (await get(server.port, "/healthz"))[0] == 200


async def test_registries_are_per_process_object_not_global() -> None:
    one, two = CollectorRegistry(), CollectorRegistry()
    Counter("cx_same_name", "x", registry=one).inc()
    Counter("cx_same_name", "x", registry=two)  # no "Duplicated timeseries" error
    assert one.get_sample_value("cx_same_name_total") == 1.0
    assert two.get_sample_value("cx_same_name_total") == 0.0


@pytest.fixture
def _root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("_root_logger")
def test_json_lines_have_stable_keys_and_no_exception_text() -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, fmt="json", stream=stream)
    log = logging.getLogger("cx.test")
    log.info("status records=%d", 12)
    try:
        raise ValueError("a value that must not be logged")
    except ValueError:
        log.exception("batch failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"ts", "level", "logger", "message"}
    assert first["message"] == "status records=12" and first["level"] == "info"
    assert first["ts"].endswith("+00:00")
    assert second["exc_type"] == "ValueError"
    assert "must not be logged" not in stream.getvalue()


@pytest.mark.usefixtures("_root_logger")
def test_text_format_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.delenv("CX_LOG_FORMAT", raising=False)
    configure_logging(logging.INFO, stream=stream)
    logging.getLogger("cx.test").warning("plain")
    assert " WARNING cx.test: plain" in stream.getvalue()
    assert isinstance(JsonFormatter().format(logging.makeLogRecord({"msg": "x"})), str)
