"""Log lines for people (plain text) or for log pipelines (JSON lines, ``CX_LOG_FORMAT=json``).

A JSON line has the stable keys ``ts`` (UTC, ISO 8601 with milliseconds), ``level``,
``logger`` and ``message``, plus ``exc_type`` when an exception is attached: its type only,
never its text or traceback (an exception may quote a value). Messages of this project
carry counts, names and reason codes, never payload values (PRIVACY.md).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Final, TextIO

__all__ = ["LOG_FORMATS", "JsonFormatter", "configure_logging", "log_format"]

#: Values of ``CX_LOG_FORMAT``.
LOG_FORMATS: Final = ("text", "json")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (no trailing newline; the handler adds it)."""
        data: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            data["exc_type"] = record.exc_info[0].__name__
        return json.dumps(data, ensure_ascii=False)


def log_format() -> str:
    """``json`` when ``CX_LOG_FORMAT=json`` (any case), else ``text``."""
    return "json" if os.environ.get("CX_LOG_FORMAT", "").strip().lower() == "json" else "text"


def configure_logging(
    level: int = logging.INFO, *, fmt: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """One handler on the root logger, in ``fmt`` (default: :func:`log_format`); returns it.

    Replaces handlers set before (so calling it twice never doubles lines).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    if (fmt or log_format()) == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
