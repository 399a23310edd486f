"""What a detector reports: a kind and a span, never the matched text."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Finding"]


class Finding(NamedTuple):
    """One identifier shape found in canonical text: its kind and span (never its text)."""

    kind: str
    start: int
    end: int
