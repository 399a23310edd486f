"""Hostile-corpus cases of #16: validly signed feedback whose comment still holds an
identifier in a spelling the contract's own check misses. The joiner dead-letters them as
``pii-detected`` and its dead letter omits the value (and the original headers)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from contracts.envelope import Record, encode_unsigned
from contracts.privacy import journey_token_from_digest
from tests.support.journeys import T0, make_event

__all__ = ["PII_COMMENTS", "pii_cases"]

#: (case name, description, comment); written with escapes, each spelling is the point.
PII_COMMENTS: tuple[tuple[str, str, str], ...] = (
    ("pii-fullwidth-ssn", "SSN in fullwidth digits",
     "my ssn is \uff12\uff11\uff19-\uff10\uff19-\uff19\uff19\uff19\uff19"),
    ("pii-arabic-indic-phone", "phone number in Arabic-Indic digits",
     "call \u0668\u0665\u0660 \u0665\u0665\u0665 \u0660\u0661\u0667\u0662"),
    ("pii-zero-width-ssn", "SSN with zero-width spaces and soft hyphens between the digits",
     "ssn 2\u200b1\u200b9\u00ad0\u200b9\u00ad9\u200d9\u200b9\u200b9"),
    ("pii-spelled-phone", "phone number spelled out",
     "call eight five zero five five five zero one seven two"),
    ("pii-email-words", "e-mail written with at/dot words",
     "write to zoe dot quintanilla at example dot org"),
    ("pii-email-defanged", "e-mail written with [at] and [dot]",
     "write to zoe.q [at] example [dot] org"),
    ("pii-dob-text", "date of birth written 14JUL1990", "born 14JUL1990"),
    ("pii-dob-cjk", "date of birth as a CJK date", "\u751f\u65e5 1990\u5e747\u670814\u65e5"),
    ("pii-base64-ssn", "an SSN in base64", "id MjE5LTA5LTk5OTk="),
    ("pii-url-query-name", "a defanged URL whose query holds a name",
     "see hxxp://example[.]com/p?name=zoe"),
    ("pii-street-address", "a street address", "I live at 4821 Larkspur Crescent"),
    ("pii-zip-spaced", "a ZIP with spaces between its digits", "zip 3 2 3 0 1"),
)  # fmt: skip


def pii_cases(
    case: Callable[..., dict[str, Any]], sign: Callable[[Record], Record], first: int
) -> list[dict[str, Any]]:
    """The cases, numbered from ``first`` (event ids and journey tokens), made by ``case``."""
    out = []
    for offset, (name, description, comment) in enumerate(PII_COMMENTS):
        n = first + offset
        digest = hashlib.sha256(f"hostile-corpus:journey-{n}".encode()).digest()
        event = make_event(
            "feedback",
            agency="ssa",
            service_id="ssa.enumeration-at-birth",
            life_experience="having-a-child",
            journey_token=journey_token_from_digest(digest),
            at=T0 + timedelta(hours=n),
            event_id=UUID(int=0xC0FFEE_0000 + n, version=4),
            comment=comment,
        )
        out.append(case(name, description, "pii-detected", sign(encode_unsigned(event))))
    return out
