"""The guard's second look: free-form fields of the final bytes, in canonical form.

The byte-level search (:mod:`~producers.deid.guard.search`) finds the record's values in
their usual spellings anywhere in the record. The free-form fields (scrubbed comments,
``reason_code``) are also decoded from the final value bytes, put in canonical form
(:func:`contracts.pii.canonical`) and searched for every identifier shape and the record's
own values in any spelling, so a spelling the scrubber missed is still refused. The
joiner runs the same shape check (:func:`contracts.pii.fields.free_text_findings`).
"""

from __future__ import annotations

import json
import re
from typing import Final

from contracts.events import ApplicationStatus, Feedback, ServiceInteraction
from contracts.pii import canonical, identifier_kinds
from contracts.pii.fields import free_form_fields
from producers.deid.ownmatch import OwnMatcher
from producers.deid.raw import RawRecord
from producers.errors import PiiLeak

__all__ = ["FREE_FORM_KEYS", "check_free_form", "own_matcher"]

#: Every free-form field of every event contract.
FREE_FORM_KEYS: Final = tuple(
    sorted(
        {n for m in (Feedback, ApplicationStatus, ServiceInteraction) for n in free_form_fields(m)}
    )
)
_HINTS: Final = tuple(f'"{key}"'.encode() for key in FREE_FORM_KEYS)
_PLACEHOLDER: Final = re.compile(r"\[[A-Z]+\]")
_OWN_FIELD: Final = {"name": "name", "address": "street_address", "email": "email"}


def own_matcher(raw: RawRecord) -> OwnMatcher:
    """The record's values in the comparable form of :class:`OwnMatcher`."""
    return OwnMatcher.of(
        names=(raw.first_name, raw.middle_name, raw.last_name),
        street_address=raw.street_address,
        city=raw.city,
        zip5=raw.zip,
        ssn=raw.ssn,
        phone=raw.phone,
        email=raw.email,
        account_number=raw.account_number,
        application_id=raw.application_id,
        date_of_birth=raw.date_of_birth,
    )


def check_free_form(value: bytes, raw: RawRecord) -> None:
    """Raise :class:`PiiLeak` (field and kind, never the value) if a free-form field of the
    serialized ``value`` holds an identifier shape or one of ``raw``'s values."""
    if not any(hint in value for hint in _HINTS):
        return
    try:
        payload = json.loads(value)
    except ValueError:
        return  # not JSON: the contract refuses it before it is sent
    if not isinstance(payload, dict):
        return
    matcher: OwnMatcher | None = None
    for key in FREE_FORM_KEYS:
        text = payload.get(key)
        if not isinstance(text, str) or not text:
            continue
        kinds = identifier_kinds(text)
        if kinds:
            raise PiiLeak(kinds[0], f"value field {key}", pattern=True)
        matcher = matcher or own_matcher(raw)
        found = matcher.findings(_PLACEHOLDER.sub(" ", canonical(text)))
        if found:
            raise PiiLeak(_OWN_FIELD.get(found[0].kind, found[0].kind), f"value field {key}")
