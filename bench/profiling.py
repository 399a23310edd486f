"""Optional pyinstrument profiles of benchmark runs (a dev dependency: ``pyinstrument``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from broker.errors import CxError

__all__ = ["profiled"]


@contextlib.contextmanager
def profiled(out: Path, interval: float = 0.001) -> Iterator[None]:
    """Sample the main thread while the block runs; write a text report to ``out``
    (and an HTML one next to it)."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise CxError("--profile needs pyinstrument: pip install pyinstrument") from None
    profiler = Profiler(interval=interval, async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
        out.with_suffix(".html").write_text(profiler.output_html())
