"""Which fields of an event can hold free-form text, and the identifier check over them.

The PII guard of the producers and the joiner run the same check: every field marked
``x-cx-scrubbed`` in its contract (scrubbed free text) and every other string field that
is not closed by construction (today ``reason_code``) is put in canonical form and searched
for identifier shapes. The answer names fields and kinds, never values.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Final

from pydantic import BaseModel

from contracts.pii.detect import identifier_kinds

__all__ = ["FREE_FORM_FIELDS", "free_form_fields", "free_text_findings"]

#: String fields checked although their contract does not mark them as scrubbed text.
FREE_FORM_FIELDS: Final = frozenset({"reason_code"})
_SCRUBBED: Final = '"x-cx-scrubbed": true'


@lru_cache(maxsize=64)
def free_form_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` that :func:`free_text_findings` checks (computed per class)."""
    properties = model.model_json_schema().get("properties", {})
    return tuple(
        name
        for name in model.model_fields
        if name in FREE_FORM_FIELDS or _SCRUBBED in json.dumps(properties.get(name, {}))
    )


def free_text_findings(event: BaseModel) -> list[tuple[str, tuple[str, ...]]]:
    """(field, identifier kinds) for each free-form field of ``event`` holding one."""
    findings = []
    for name in free_form_fields(type(event)):
        value = getattr(event, name, None)
        if isinstance(value, str) and value:
            kinds = identifier_kinds(value)
            if kinds:
                findings.append((name, kinds))
    return findings
