"""Encoded identifiers: base64 and hex runs that decode to readable text.

An identifier written as ``MTIzLTQ1LTY3ODk=`` or ``3132332d34352d36373839`` is still the
identifier. :func:`decoded_candidates` yields every run that decodes to mostly printable
text, with its span, so the detectors can search the decoded text too.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Final

__all__ = ["decoded_candidates"]

_BASE64: Final = re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{8,}={0,2}(?![\w+/=-])")
_HEX: Final = re.compile(r"(?<![\w])(?:[0-9A-Fa-f]{2}[\s:]?){4,}(?![\w])")
_MAX_RUN: Final = 4096


def _readable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 4:
        return None
    printable = sum(ch.isprintable() or ch.isspace() for ch in text)
    return text if printable >= 0.9 * len(text) else None


def _b64(run: str) -> str | None:
    stripped = run.rstrip("=")
    for alphabet in (None, b"-_"):
        try:
            data = base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=alphabet)
        except (binascii.Error, ValueError):
            continue
        text = _readable(data)
        if text is not None:
            return text
    return None


def decoded_candidates(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, decoded text) of every base64 or hex run of ``text`` that decodes to
    readable UTF-8 (at least four characters, 90 % printable)."""
    for match in _HEX.finditer(text):
        run = re.sub(r"[\s:]", "", match.group())
        if len(run) % 2 == 0 and len(run) <= _MAX_RUN:
            decoded = _readable(binascii.unhexlify(run))
            if decoded is not None:
                yield match.start(), match.end(), decoded
    for match in _BASE64.finditer(text):
        run = match.group()
        if len(run) <= _MAX_RUN and not run.isalpha():
            decoded = _b64(run)
            if decoded is not None:
                yield match.start(), match.end(), decoded
