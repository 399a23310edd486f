"""Free text (#16): off unless the catalog turns it on, allow-list scrubbing, and the guard's
canonical look at the free-form fields of the final bytes."""

from __future__ import annotations

import json

import pytest

from contracts.catalog import FreeTextPolicy, load_catalog
from contracts.envelope import Record, encode_unsigned
from producers import PiiLeak, deidentify, guard_record
from producers.deid import scrub_free_text, scrub_text
from producers.deid.deidentify import shares_free_text
from tests.support.raw_records import feedback, keys


def test_free_text_is_off_by_default_and_on_only_where_the_catalog_says() -> None:
    policies = {le.id: le.free_text for le in load_catalog().life_experiences}
    assert policies["having-a-child"] is FreeTextPolicy.SCRUBBED
    assert FreeTextPolicy.OFF in policies.values()
    off = next(le for le, policy in policies.items() if policy is FreeTextPolicy.OFF)
    assert not shares_free_text(off)
    raw = feedback(life_experience=off, agency="usda-fns")
    assert scrub_free_text(raw) is None


def test_a_shared_comment_is_scrubbed() -> None:
    scrubbed = scrub_free_text(feedback())
    assert scrubbed is not None and "[NAME]" in scrubbed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The clerk was rude and I waited.", "The clerk was rude and I waited."),
        ("My son Brayden was with me", "My son [NAME] was with me"),
        ("my daughter emily was sick", "my daughter [NAME] was sick"),
        # Up to three words after "work at" / "live on" go (recall over readability).
        ("I work at Kroger nights", "I work at [NAME]"),
        # "Mr" is capitalised mid-sentence; the two words after a title go too.
        ("Talked to Mr Quibbleworth today", "Talked to [NAME]"),
        ("we live on maple street now", "we live on [ADDRESS]"),
        ("the maple street office", "the [ADDRESS] office"),
        ("code xqzvbt", "code [WORD]"),
    ],
)
def test_allow_list_scrubbing_keeps_only_known_safe_words(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("comment", "field"),
    [
        ("ssn \u0662\u0661\u0669\u0660\u0669\u0669\u0669\u0669\u0669", "ssn"),
        ("hi from z\u03bf\u0435 quintanilla", "name"),  # Greek omicron, Cyrillic ie
        ("zoequintanilla90 here", "name"),
        ("Z O E here", "name"),
        ("write zoe dot q at example dot org", "email"),
    ],
)
def test_the_guard_refuses_a_comment_the_scrubber_did_not_make(comment: str, field: str) -> None:
    raw = feedback()
    event = deidentify(raw, keys())
    record = encode_unsigned(event)
    payload = json.loads(record.value)
    payload["comment"] = comment
    value = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    with pytest.raises(PiiLeak) as caught:
        guard_record(Record(record.key, value, record.headers), raw, event)
    assert caught.value.location == "value field comment" or field in str(caught.value)
    assert comment not in str(caught.value)
