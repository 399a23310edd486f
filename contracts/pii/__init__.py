"""Identifier detection shared by the producers' scrubber and guard and the joiner.

Pure functions over text, independent of whose identifiers they look for: the canonical
form of a text (:func:`canonical`, PRIVACY.md invariant 2) and the identifier shapes in
it (:func:`find_identifiers`, :func:`identifier_kinds`), plus :func:`free_text_kinds`, the
check of an event's free-form fields that the PII guard and the joiner both run. The
record-specific search (the person's own name, SSN, ...) stays in ``producers.deid``.
"""

from contracts.pii.detect import (
    canonical,
    digit_runs,
    find_identifiers,
    identifier_kinds,
    number_word_runs,
)
from contracts.pii.finding import Finding
from contracts.pii.normalize import normalize, skeleton, spelled_digits

__all__ = [
    "Finding",
    "canonical",
    "digit_runs",
    "find_identifiers",
    "identifier_kinds",
    "normalize",
    "number_word_runs",
    "skeleton",
    "spelled_digits",
]
