"""Finding a needle or a generic identifier shape in the bytes of one serialized record.

The fields are joined into one buffer; an occurrence counts only when its boundary holds
and it lies outside the caller's opaque values and the scrubbing placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

from producers.deid.guard.boundary import _ALNUM, _BLOCKING
from producers.deid.guard.needles import Needle
from producers.deid.scrub import PLACEHOLDERS

# Fields are joined with a byte that no needle holds, so nothing matches across two fields.
_SEPARATOR: Final = b"\x00"


def _join(
    value: bytes, headers: Sequence[tuple[str, bytes]], key: bytes | None
) -> tuple[bytes, list[tuple[int, str]]]:
    parts: list[bytes] = [] if key is None else [key]
    names: list[str] = [] if key is None else ["key"]
    parts.append(value)
    names.append("value")
    for name, header_value in headers:
        parts.append(name.encode("utf-8", "replace"))
        names.append("header name")
        parts.append(header_value)
        names.append(f"header {name}" if name.isascii() and name.isprintable() else "header")
    locations: list[tuple[int, str]] = []
    offset = 0
    for part, where in zip(parts, names, strict=True):
        locations.append((offset, where))
        offset += len(part) + len(_SEPARATOR)
    return _SEPARATOR.join(parts), locations


def _locate(locations: list[tuple[int, str]], position: int) -> str:
    where = locations[0][1]
    for start, name in locations:
        if start > position:
            break
        where = name
    return where


class _Spans:
    """Where the opaque values occur in the buffer; computed only once a needle is found."""

    __slots__ = ("_buffer", "_found", "_opaque")

    def __init__(self, buffer: bytes, opaque: tuple[bytes, ...]) -> None:
        self._buffer = buffer
        self._opaque = opaque
        self._found: list[tuple[int, int]] | None = None

    def covers(self, start: int, end: int) -> bool:
        if not self._opaque:
            return False
        if self._found is None:
            self._found = []
            for item in self._opaque:
                at = self._buffer.find(item)
                while at >= 0:
                    self._found.append((at, at + len(item)))
                    at = self._buffer.find(item, at + 1)
        return any(s <= start and end <= e for s, e in self._found)


_PLACEHOLDER_BYTES: Final = frozenset(word.encode("ascii") for word in PLACEHOLDERS)


def _find(buffer: bytes, needle: Needle, opaque: _Spans, start: int | None = None) -> int:
    """Position of the first acceptable occurrence of ``needle`` in ``buffer``, or -1.

    ``start`` is the first occurrence when the caller already found it.
    """
    return _find_at(buffer, needle.value, needle.boundary, opaque, start)


def _find_at(
    buffer: bytes, value: bytes, boundary: str, opaque: _Spans, start: int | None = None
) -> int:
    """:func:`_find` of a needle given as its value and boundary."""
    blocking = _BLOCKING[boundary]
    is_placeholder = value in _PLACEHOLDER_BYTES
    at = buffer.find(value) if start is None else start
    while at >= 0:
        end = at + len(value)
        bounded = (at == 0 or buffer[at - 1] not in blocking) and (
            end == len(buffer) or buffer[end] not in blocking
        )
        if bounded and boundary == _ALNUM:
            # Part of a decimal number ("wait_seconds":20001.0) is not a ZIP either.
            bounded = not (
                (buffer[end : end + 1] == b"." and buffer[end + 1 : end + 2].isdigit())
                or (buffer[at - 1 : at] == b"." and buffer[at - 2 : at - 1].isdigit())
            )
        inside_placeholder = (
            is_placeholder and buffer[at - 1 : at] == b"[" and buffer[end : end + 1] == b"]"
        )
        if bounded and not inside_placeholder and not opaque.covers(at, end):
            return at
        at = buffer.find(value, at + 1)
    return -1


# Generic shapes. Regular expressions over every event would dominate the guard's cost, so
# the buffer is reduced to a *shape mask* once (every digit becomes "0", the separators stay,
# every other byte becomes "x") and each shape is one C-speed ``bytes.find`` of a literal.
_SHAPE_MASK: Final = bytes(
    ord("0") if chr(b).isdigit() and b < 0x80 else b if chr(b) in "-. ()" else ord("x")
    for b in range(256)
)
_SEPARATORS: Final = ("-", ".", " ")
_SHAPES: Final[tuple[tuple[str, bytes], ...]] = (
    *(("ssn", f"000{s}00{s}0000".encode()) for s in _SEPARATORS),
    *(("phone", f"000{a}000{b}0000".encode()) for a in _SEPARATORS for b in _SEPARATORS),
    *(("phone", f"(000){a}000{b}0000".encode()) for a in ("", " ") for b in _SEPARATORS),
)
_EMAIL: Final = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Every digit-bounded shape above ends in a 2- or 3-digit group after a separator (or the
# ")" of an area code), a separator and 4 digits not followed by a digit: when the mask has
# no such run, no shape can match and the scan below is skipped (it runs only on a hint).
# (The regular expression starts with the literal 0000, which re searches for at C speed.)
_SHAPE_HINT: Final = re.compile(rb"0000(?:(?<=[-. )]00[-. ]0000)|(?<=[-. )]000[-. ]0000))(?!0)")


def _shape_leaks(buffer: bytes, opaque: _Spans) -> Iterator[tuple[str, int]]:
    """Generic identifier shapes in ``buffer``: (kind, position), outside opaque values."""
    mask = buffer.translate(_SHAPE_MASK)
    for kind, shape in _SHAPES:
        at = mask.find(shape)
        while at >= 0:
            end = at + len(shape)
            digit_bounded = (at == 0 or mask[at - 1] != 0x30) and (
                end == len(mask) or mask[end] != 0x30
            )
            if digit_bounded and not opaque.covers(at, end):
                yield kind, at
            at = mask.find(shape, at + 1)
    if b"@" in buffer:
        for match in _EMAIL.finditer(buffer):
            if not opaque.covers(match.start(), match.end()):
                yield "email", match.start()
