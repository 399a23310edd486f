"""Property: for arbitrary raw records, no raw identifier appears in any produced byte.

Hypothesis invents people (names with diacritics and punctuation, SSNs, phones, e-mails,
addresses in many formats) and free text that embeds their identifiers in other formats
again. Each record goes through de-identification, encoding, the PII guard and signing; the
signed key, value and headers are then scanned here, independently of the guard, in
several normalizations: as bytes, JSON-decoded, case-folded, without diacritics, and with
the separators between digits removed.
"""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings

from contracts.envelope import Record, encode_unsigned
from contracts.events import ApplicationStatus
from producers import DEFAULT_TOKEN_RULES, DeidPolicy, RawRecord, deidentify, guard_record
from producers.deid import fold, normalize_name
from tests.support.people import (
    LINKAGE_KEYS,
    PUBLIC_KEYRING,
    SIGNERS,
    VOCABULARY,
    Person,
    dob_formats,
    raw_records,
    words_of,
)


def _scan_texts(record: Record, opaque: list[str]) -> list[str]:
    """Every produced byte as text, in raw and JSON-decoded form, opaque values removed."""
    texts = [record.key.decode(), record.value.decode()]
    payload = json.loads(record.value)
    texts += [str(v) for v in payload.values() if v is not None]
    texts += [f"{n}={v.decode()}" for n, v in record.headers]
    cleaned = []
    for text in texts:
        for value in opaque:
            text = text.replace(value, " ")
        cleaned.append(text)
    return cleaned


def _squeeze_digits(text: str) -> str:
    """Remove separators between digits: "(850) 555-0172" → "(8505550172"."""
    return re.sub(r"(?<=[0-9])[ ().\-/]{1,3}(?=[0-9])", "", text)


def _assert_nothing_identifying(texts: list[str], raw: RawRecord, p: Person) -> None:
    joined = "\n".join(texts)
    lower = fold(joined).lower()
    squeezed = _squeeze_digits(joined)
    words = set(words_of(joined))

    parts = {w for n in (p.first, p.middle, p.last) if n for w in words_of(n) if len(w) >= 2}
    parts |= {normalize_name(n).lower() for n in (p.first, p.middle, p.last) if n}
    leaked = {w for w in parts if w not in VOCABULARY} & words
    assert not leaked, "a name part survived"

    for digits, what in ((p.ssn, "ssn"), (p.phone, "phone"), (p.dob.strftime("%Y%m%d"), "dob"),
                         (p.dob.strftime("%m%d%Y"), "dob"),
                         (re.sub(r"[^0-9]", "", p.account), "account")):  # fmt: skip
        assert digits not in squeezed, f"{what} digits survived"
    for text in dob_formats(p.dob):
        assert fold(text).lower() not in lower, "a date of birth survived"
    assert re.search(rf"(?<![0-9]){p.zip5}(?![0-9])", joined) is None, "the ZIP survived"
    assert p.email.lower() not in lower, "the e-mail survived"
    assert p.email.split("@")[0].lower() not in lower, "the e-mail user survived"
    assert " ".join(p.street.lower().split()) not in " ".join(lower.split()), "street survived"
    city = fold(p.city).lower()
    assert re.search(rf"(?<![^\W\d_]){re.escape(city)}(?![^\W\d_])", lower) is None
    assert p.account.lower() not in lower, "the account number survived"


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(raw_records())
def test_no_raw_identifier_in_any_produced_byte(case: tuple[RawRecord, Person]) -> None:
    raw, person = case
    # Any rule whose inputs the record has: this property is about privacy, not linkage.
    event = deidentify(raw, LINKAGE_KEYS, DeidPolicy(token_rules=DEFAULT_TOKEN_RULES))
    unsigned = encode_unsigned(event)
    guard_record(unsigned, raw, event)  # no false alarm: the scrubbed record is clean
    record = SIGNERS[raw.agency].sign(unsigned)
    PUBLIC_KEYRING.verify(record)
    guard_record(record, raw, event)  # the signed record passes too
    # Values made by us, not from identity: random ids, keyed hashes, event times (the
    # date of birth lies at least 400 days before them, so they cannot hide it).
    opaque = [event.journey_token, str(event.event_id)]
    payload = json.loads(record.value)
    opaque += [payload[f] for f in ("occurred_at", "started_at", "ended_at") if payload.get(f)]
    opaque.append(record.header("ce_time").decode())  # type: ignore[union-attr]
    opaque.append(record.header("ce_cxsig").decode())  # type: ignore[union-attr]
    if isinstance(event, ApplicationStatus):
        opaque.append(event.application_token)
    _assert_nothing_identifying(_scan_texts(record, opaque), raw, person)
