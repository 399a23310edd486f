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
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cx_producer_samples import keys
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.keyring import PublicKey, PublicKeyring, Signer
from contracts.catalog import load_catalog
from contracts.envelope import RECORD_HEADERS, Record, encode_unsigned
from contracts.events import ApplicationStatus, Feedback, ServiceInteraction
from contracts.privacy import TokenRule, UsState
from contracts.vocabulary import ApplicationState, Channel, Outcome, Stage
from producers import DEFAULT_TOKEN_RULES, DeidPolicy, RawRecord, deidentify, guard_record
from producers.deid import PLACEHOLDERS, EventKind, fold, normalize_name

CATALOG = load_catalog()
# In-memory signing keys per agency (the keyring directory is tested in tests/unit/keyring).
SIGNERS = {
    a.id: Signer(a.id, f"{a.id}-sig-test", Ed25519PrivateKey.generate()) for a in CATALOG.agencies
}
PUBLIC_KEYRING = PublicKeyring(
    PublicKey(agency, s.key_id, s.public_key(), datetime(2026, 1, 1, tzinfo=UTC), True)
    for agency, s in SIGNERS.items()
)
SERVICES = sorted(
    (le.id, service_id) for le in CATALOG.life_experiences for service_id in le.services
)
LIFE_EXPERIENCES = tuple(le.id for le in CATALOG.life_experiences)
LINKAGE_KEYS = keys(*LIFE_EXPERIENCES)


def _words(text: str) -> list[str]:
    """Letter runs of ``text``, folded (no diacritics) and lower-cased."""
    return [w.lower() for w in re.findall(r"[^\W\d_]+", fold(text))]


def _vocabulary() -> frozenset[str]:
    """Every word the contract itself writes: field names, enum values, ids, header names."""
    texts: list[str] = [" ".join(RECORD_HEADERS), " ".join(PLACEHOLDERS)]
    texts += ["urn cx agency gov contract json null true false lk sig test v t z"]
    for model in (ServiceInteraction, ApplicationStatus, Feedback):
        texts += [*model.model_fields, model.contract_name]
    for enum in (Stage, Channel, Outcome, ApplicationState, TokenRule, UsState, EventKind):
        texts += [member.value for member in enum]
    texts += [a.id for a in CATALOG.agencies]
    texts += [s.id for a in CATALOG.agencies for s in a.services]
    texts += list(LIFE_EXPERIENCES)
    return frozenset(w for text in texts for w in _words(text))


VOCABULARY = _vocabulary()

LETTERS = "abcdefghijklmnopqrstuvwxyzáàâäãåçéèêëíìîïñóòôöõøúùûüýÿßłæœ"
CASINGS = (str.title, str.upper, str.lower, str.capitalize)


def _not_vocabulary(word: str) -> bool:
    return all(w not in VOCABULARY for w in _words(word))


name_word = st.builds(
    lambda word, case: case(word),
    st.text(alphabet=LETTERS, min_size=2, max_size=10).filter(_not_vocabulary),
    st.sampled_from(CASINGS),
)
name = st.builds(
    lambda words, seps: "".join(w + s for w, s in zip(words, seps, strict=False)).strip(" -'"),
    st.lists(name_word, min_size=1, max_size=3),
    st.lists(st.sampled_from([" ", "-", "'", " "]), min_size=3, max_size=3),
).filter(lambda n: len(normalize_name(n)) >= 2)


@dataclass(frozen=True)
class Person:
    """Identity of one invented person, as separate parts for formatting."""

    first: str
    middle: str | None
    last: str
    ssn: str  # 9 digits
    dob: date
    zip5: str
    phone: str  # 10 digits
    email: str
    street: str
    city: str
    account: str


@st.composite
def people(draw: st.DrawFn) -> Person:
    area = draw(st.integers(1, 899).filter(lambda a: a != 666))
    ssn = f"{area:03d}{draw(st.integers(1, 99)):02d}{draw(st.integers(1, 9999)):04d}"
    exchange, line = draw(st.integers(200, 999)), draw(st.integers(0, 9999))
    phone = f"{draw(st.integers(201, 989))}{exchange}{line:04d}"
    first, last = draw(name), draw(name)
    local = ".".join(normalize_name(n).lower() for n in (first, last))
    domain = draw(st.sampled_from(["example.org", "mail.example.com"]))
    email = f"{local}{draw(st.integers(0, 99))}@{domain}"
    street_words = draw(st.lists(name_word.map(str.title), min_size=1, max_size=2))
    suffix = draw(st.sampled_from(["Street", "Ave", "Road", "Crescent", "Way", "Blvd"]))
    city_words = draw(
        st.lists(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=9)
            .filter(_not_vocabulary)
            .map(str.title),
            min_size=1,
            max_size=2,
        )
    )
    return Person(
        first=first,
        middle=draw(st.none() | name),
        last=last,
        ssn=ssn,
        dob=draw(st.dates(date(1920, 1, 1), date(2023, 6, 30))),
        zip5=f"{draw(st.integers(501, 99950)):05d}",
        phone=phone,
        email=email,
        street=f"{draw(st.integers(1, 99999))} {' '.join(street_words)} {suffix}",
        city=" ".join(city_words),
        account=draw(st.from_regex(r"[A-Z]{2,4}-?[0-9]{6,10}", fullmatch=True)),
    )


def _ssn_formats(s: str) -> list[str]:
    a, g, n = s[:3], s[3:5], s[5:]
    return [f"{a}-{g}-{n}", f"{a} {g} {n}", f"{a}.{g}.{n}", s, f"SSN#{s}", f"{a}-{g}{n}"]


def _phone_formats(p: str) -> list[str]:
    a, b, c = p[:3], p[3:6], p[6:]
    return [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", p,
            f"1-{a}-{b}-{c}", f"{a} {b}{c}", f"tel:{p}"]  # fmt: skip


def _dob_formats(d: date) -> list[str]:
    month = d.strftime("%B")
    return [d.isoformat(), d.strftime("%m/%d/%Y"), f"{d.month}/{d.day}/{d.year}",
            d.strftime("%Y%m%d"), f"{month} {d.day}, {d.year}", f"{d.day} {month} {d.year}",
            f"{month[:3]} {d.day} {d.year}", d.strftime("%m-%d-%Y"), d.strftime("%d.%m.%Y"),
            d.strftime("%m/%d/%y")]  # fmt: skip


def _name_formats(p: Person) -> list[str]:
    full = f"{p.first} {p.last}"
    return [full, full.upper(), full.lower(), fold(full), f"{p.last.upper()}, {p.first}",
            f"{p.first} {p.middle or ''} {p.last}", f"{p.first[0]}. {p.last}"]  # fmt: skip


@st.composite
def free_texts(draw: st.DrawFn, p: Person) -> str:
    identifiers = [
        *_name_formats(p),
        *_ssn_formats(p.ssn),
        *_phone_formats(p.phone),
        *_dob_formats(p.dob),
        p.email,
        p.email.upper(),
        p.street,
        p.street.lower(),
        p.city,
        p.city.upper(),
        p.zip5,
        f"{p.zip5}-1234",
        p.account,
        p.account.lower(),
        "https://example.com/profile/" + normalize_name(p.last).lower(),
        "10.20.30.40",
        "2001:db8::1",
    ]
    filler = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.!?'", max_size=25) | st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20
    )
    pieces = draw(st.lists(st.sampled_from(identifiers) | filler, min_size=1, max_size=12))
    separators = draw(
        st.lists(st.sampled_from([" ", ", ", ". ", "\n", " - ", ": "]), min_size=12, max_size=12)
    )
    return "".join(piece + sep for piece, sep in zip(pieces, separators, strict=False))


@st.composite
def raw_records(draw: st.DrawFn) -> tuple[RawRecord, Person]:
    p = draw(people())
    life_experience, service_id = draw(st.sampled_from(SERVICES))
    agency = service_id.split(".", 1)[0]
    occurred = draw(
        st.datetimes(datetime(2025, 1, 1), datetime(2026, 10, 31), timezones=st.just(UTC))
    )
    occurred = max(
        occurred, datetime.combine(p.dob + timedelta(days=400), datetime.min.time(), UTC)
    )
    kind = draw(st.sampled_from(list(EventKind)))
    ssn_style = draw(st.sampled_from([*_ssn_formats(p.ssn)[:4], ""]))
    facts: dict[str, Any] = {}
    if kind is EventKind.SERVICE_INTERACTION:
        facts = {
            "stage": draw(st.sampled_from(list(Stage))),
            "channel": draw(st.sampled_from(list(Channel))),
            "started_at": occurred - timedelta(minutes=draw(st.integers(0, 600))),
            "ended_at": occurred,
            "outcome": draw(st.sampled_from(list(Outcome))),
            "wait_seconds": draw(st.integers(0, 9999)),
            "attempt": draw(st.integers(1, 5)),
        }
    elif kind is EventKind.APPLICATION_STATUS:
        facts = {
            "status": draw(st.sampled_from(list(ApplicationState))),
            "application_id": draw(st.from_regex(r"[A-Z]{3}-[0-9]{4}-[0-9]{6}", fullmatch=True)),
        }
    else:
        facts = {
            "channel": draw(st.sampled_from(list(Channel))),
            "satisfaction": draw(st.integers(1, 5)),
            "humanity": draw(st.none() | st.integers(1, 5)),
        }
    record = RawRecord(
        first_name=p.first,
        middle_name=p.middle,
        last_name=p.last,
        ssn=ssn_style or None,
        date_of_birth=draw(st.sampled_from([*_dob_formats(p.dob)[:2], p.dob.strftime("%Y%m%d")])),
        sex=draw(st.sampled_from(["F", "M", "X", None])),
        street_address=p.street,
        city=p.city,
        state=draw(st.sampled_from(list(UsState))),
        zip=draw(st.sampled_from([p.zip5, f"{p.zip5}-4410"])),
        phone=draw(st.sampled_from(_phone_formats(p.phone)[:5])),
        email=p.email,
        account_number=p.account,
        free_text=draw(free_texts(p)),
        agency=agency,
        life_experience=life_experience,
        kind=kind,
        occurred_at=occurred,
        service_id=service_id,
        **facts,
    )
    return record, p


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
    words = set(_words(joined))

    parts = {w for n in (p.first, p.middle, p.last) if n for w in _words(n) if len(w) >= 2}
    parts |= {normalize_name(n).lower() for n in (p.first, p.middle, p.last) if n}
    leaked = {w for w in parts if w not in VOCABULARY} & words
    assert not leaked, "a name part survived"

    for digits, what in ((p.ssn, "ssn"), (p.phone, "phone"), (p.dob.strftime("%Y%m%d"), "dob"),
                         (p.dob.strftime("%m%d%Y"), "dob"),
                         (re.sub(r"[^0-9]", "", p.account), "account")):  # fmt: skip
        assert digits not in squeezed, f"{what} digits survived"
    for text in _dob_formats(p.dob):
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
