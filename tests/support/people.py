"""Hypothesis strategies of invented people and the raw records an agency holds of them.

Names with diacritics and punctuation, SSNs, phones, e-mails and addresses in many formats,
free text that embeds a person's identifiers in other formats again; used by the
de-identification property tests. Every value is generated: no real person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st

from broker.keyring import Owner, PublicKey, PublicKeyring, Signer
from contracts.catalog import load_catalog
from contracts.envelope import RECORD_HEADERS
from contracts.events import ApplicationStatus, Feedback, ServiceInteraction
from contracts.privacy import TokenRule, UsState
from contracts.vocabulary import ApplicationState, Channel, Outcome, Stage
from producers import RawRecord
from producers.deid import PLACEHOLDERS, EventKind, fold, normalize_name
from tests.support.raw_records import keys

CATALOG = load_catalog()
# In-memory signing keys per agency (the keyring directory is tested in tests/unit/keyring).
SIGNERS = {
    a.id: Signer(a.id, f"{a.id}-sig-test", Ed25519PrivateKey.generate()) for a in CATALOG.agencies
}
PUBLIC_KEYRING = PublicKeyring(
    PublicKey(
        Owner("agency", agency), s.key_id, s.public_key(), datetime(2026, 1, 1, tzinfo=UTC), True
    )
    for agency, s in SIGNERS.items()
)
SERVICES = sorted(
    (le.id, service_id) for le in CATALOG.life_experiences for service_id in le.services
)
LIFE_EXPERIENCES = tuple(le.id for le in CATALOG.life_experiences)
LINKAGE_KEYS = keys(*LIFE_EXPERIENCES)


def words_of(text: str) -> list[str]:
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
    return frozenset(w for text in texts for w in words_of(text))


VOCABULARY = _vocabulary()

LETTERS = "abcdefghijklmnopqrstuvwxyzáàâäãåçéèêëíìîïñóòôöõøúùûüýÿßłæœ"
CASINGS = (str.title, str.upper, str.lower, str.capitalize)


def _not_vocabulary(word: str) -> bool:
    return all(w not in VOCABULARY for w in words_of(word))


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


def dob_formats(d: date) -> list[str]:
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
        *dob_formats(p.dob),
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
        date_of_birth=draw(st.sampled_from([*dob_formats(p.dob)[:2], p.dob.strftime("%Y%m%d")])),
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
