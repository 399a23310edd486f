"""The guard of one raw record: its plan, checked against each serialization of it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from producers.deid.guard.freeform import check_free_form
from producers.deid.guard.needles import Needle, _Identity, _readable
from producers.deid.guard.plan import _record_plan
from producers.deid.guard.search import (
    _SEPARATOR,
    _SHAPE_HINT,
    _SHAPE_MASK,
    _find_at,
    _join,
    _locate,
    _shape_leaks,
    _Spans,
)
from producers.deid.raw import RawRecord
from producers.errors import PiiLeak

__all__ = ["PiiGuard", "guard"]


class PiiGuard:
    """The PII guard of one raw record: needles precomputed, :meth:`check` per serialization.

    Holds identifier values in memory; its repr shows only the number of needles.
    """

    __slots__ = ("_plan", "_raw")

    def __init__(self, raw: RawRecord) -> None:
        self._plan = _record_plan(_Identity.of(raw))
        self._raw = raw

    def __repr__(self) -> str:
        return f"PiiGuard(<{len(self._plan.needles)} needles>)"

    @property
    def _needles(self) -> tuple[Needle, ...]:
        """The needles in search order, readable (for tests and debugging)."""
        return tuple(map(_readable, self._plan.needles))

    __str__ = __repr__

    def check(
        self,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
        *,
        key: bytes | None = None,
        opaque: Iterable[bytes] = (),
    ) -> None:
        """Raise :class:`PiiLeak` if ``key``, ``value`` or any header holds an identifier.

        ``opaque`` lists byte strings known to be non-identifying by construction (the
        journey token): needles found inside them are ignored.
        """
        parts = [value] if key is None else [key, value]
        for name, header_value in headers:
            parts += (name.encode("utf-8", "replace"), header_value)
        # The buffer _join makes; where each field starts is only worked out for a leak.
        buffer = _SEPARATOR.join(parts)
        opaque_spans = _Spans(buffer, tuple(o for o in opaque if o))
        hits = self._plan.hits(buffer)
        # Usually none: then no needle can occur. Otherwise the needles go in their order
        # (longest first), which decides what a leak is reported as.
        for field, needle, boundary, _, _ in self._plan.needles_for(hits) if hits else ():
            at = buffer.find(needle)
            if at >= 0:
                position = _find_at(buffer, needle, boundary, opaque_spans, at)
                if position >= 0:
                    raise PiiLeak(field, _locate(_join(value, headers, key)[1], position))
        if b"@" not in buffer and _SHAPE_HINT.search(buffer.translate(_SHAPE_MASK)) is None:
            self._free_form(value)
            return  # no generic byte shape can occur (see _SHAPE_HINT)
        for kind, position in _shape_leaks(buffer, opaque_spans):
            raise PiiLeak(kind, _locate(_join(value, headers, key)[1], position), pattern=True)
        self._free_form(value)

    def _free_form(self, value: bytes) -> None:
        check_free_form(value, self._raw)


def guard(
    value: bytes,
    headers: Sequence[tuple[str, bytes]],
    raw: RawRecord,
    *,
    key: bytes | None = None,
    opaque: Iterable[bytes] = (),
) -> None:
    """Check one serialized record against ``raw`` (see :class:`PiiGuard`)."""
    PiiGuard(raw).check(value, headers, key=key, opaque=opaque)
