"""Property: an identifier of any family, in any spelling, never reaches the wire bytes.

Hypothesis generates the person's own identifiers and generic ones (SSN, phone, ZIP, DOB,
account and plate numbers, e-mail, names of the person) and spells them in every way
of PRIVACY.md invariant 2 (fullwidth, Arabic-Indic, Devanagari, mathematical bold,
superscript digits, odd separators, zero-width and soft-hyphen characters, spelled-out
digits, base64/hex, defanged e-mail, look-alike Cyrillic letters, leetspeak, spaced and
glued names). Each comment goes through ``EventPreparer.prepare`` (the path of
``AgencyPublisher`` and ``publish --dry-run``): either the event is refused (PiiLeak,
whose message holds no value) or nothing of the identifier is found in the canonical form
of the final bytes. Logs are captured and checked too. ``EXAMPLES`` counts what ran.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.keyring import Keyring
from contracts.pii import canonical, skeleton
from producers.errors import PiiLeak
from producers.publisher.prepare import EventPreparer
from tests.support.keyrings import keyring_for
from tests.support.raw_records import feedback

EXAMPLES: list[int] = [0]
_DIGIT_SCRIPTS = (0x30, 0xFF10, 0x660, 0x966, 0x1D7CE, 0x9E6, 0xE50)
_SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_SEPARATORS = ("", " ", "-", "_", "\u2013", "\u2212", ":", ",", ".", "\u200b", "\u00ad",
               "\u200d", "\t", "\n", " / ")  # fmt: skip
_CYRILLIC = str.maketrans(
    "aceopxyAEHOPCTMK",
    "\u0430\u0441\u0435\u043e\u0440\u0445\u0443\u0410\u0415\u041d\u041e\u0420\u0421\u0422\u041c\u041a",
)
_LEET = str.maketrans("aeiost", "431057")


@st.composite
def spelled_digits(draw: st.DrawFn, digits: str) -> str:
    style = draw(st.sampled_from(["script", "superscript", "words", "b64", "hex"]))
    if style == "b64":
        return base64.b64encode(digits.encode()).decode()
    if style == "hex":
        return digits.encode().hex()
    sep = draw(st.sampled_from(_SEPARATORS))
    if style == "words":
        return " ".join(_WORDS[int(d)] for d in digits)
    if style == "superscript":
        chars = [_SUPERSCRIPT[int(d)] for d in digits]
    else:
        base = draw(st.sampled_from(_DIGIT_SCRIPTS))
        chars = [chr(base + int(d)) for d in digits]
    groups = draw(st.sampled_from([(3, 2, 4), (3, 3, 4), (1,) * 9, (5,), (2, 2, 4)]))
    out, at = [], 0
    for size in groups:
        out.append("".join(chars[at : at + size]))
        at += size
    out.append("".join(chars[at:]))
    return sep.join(part for part in out if part)


@st.composite
def spelled_name(draw: st.DrawFn, first: str, last: str) -> str:
    style = draw(
        st.sampled_from(["cyrillic", "leet", "spaced", "glued", "handle", "initial", "split"])
    )
    if style == "split":
        # Cut into pieces that may each be ordinary words ("quint anilla", "quinta-nilla").
        cut = draw(st.integers(2, len(last) - 2))
        return f"{last[:cut]}{draw(st.sampled_from([' ', '-', '. ', ' / ']))}{last[cut:]}".lower()
    if style == "cyrillic":
        return f"{first} {last}".translate(_CYRILLIC)
    if style == "leet":
        return f"{first} {last}".lower().translate(_LEET)
    if style == "spaced":
        return " ".join(first.upper())
    if style == "glued":
        return (first + last).lower() + str(draw(st.integers(10, 99)))
    if style == "handle":
        return f"{first[0]}.{last}".lower()
    return f"{first[0]}{last}".lower()


@st.composite
def comments(draw: st.DrawFn) -> tuple[str, str, str]:
    """(comment, family, what must not appear in canonical digits/skeleton form)."""
    family = draw(st.sampled_from(["ssn", "phone", "zip", "dob", "account", "email", "name"]))
    if family == "name":
        spelled = draw(spelled_name("Zoe", "Quintanilla"))
        letters = re.sub(r"[\W\d_]", "", spelled.lower())
        needle = "QUINTANILLA" if "uint" in letters or "\u0443" in spelled else "ZOE"
        return f"Hello, this is {spelled} writing.", family, needle
    if family == "email":
        user = draw(st.sampled_from(["zoe.quintanilla90", "zq1990", "xj.smith"]))
        form = draw(st.sampled_from(["{u} at example dot org", "{u} [at] example [dot] org",
                                     "{u} @ example.org", "{u}\uff20example.org",
                                     "{u}@correo.españa"]))  # fmt: skip
        return f"write to {form.format(u=user)} please", family, "EXAMPLE"
    digits = {
        "ssn": draw(st.from_regex(r"[1-5][0-9]{2}[1-9][0-9][1-9][0-9]{3}", fullmatch=True)),
        "phone": "850" + draw(st.from_regex(r"[2-9][0-9]{6}", fullmatch=True)),
        "zip": draw(st.from_regex(r"[0-9]{5}", fullmatch=True)),
        "dob": "07141990",
        "account": "88213947",
    }[family]
    spelled = draw(spelled_digits(digits))
    prefix = draw(st.sampled_from(["my number", "it is", "ref", "", "see"]))
    return f"The office was slow. {prefix} {spelled} thanks", family, digits


@pytest.fixture(scope="module")
def preparer(tmp_path_factory: pytest.TempPathFactory) -> EventPreparer:
    ring: Keyring = keyring_for(
        tmp_path_factory.mktemp("ring") / "k", ["usda-fns"], ["having-a-child"]
    )
    return EventPreparer("usda-fns", ring)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", canonical(text))


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=comments())
def test_no_spelling_of_an_identifier_reaches_the_wire(
    preparer: EventPreparer, case: tuple[str, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    comment, _family, needle = case
    EXAMPLES[0] += 1
    raw = feedback(free_text=comment, date_of_birth=date(1990, 7, 14))
    with caplog.at_level(logging.DEBUG):
        try:
            prepared = preparer.prepare(raw)
        except PiiLeak as exc:
            assert needle.lower() not in str(exc).lower()
            assert comment not in str(exc)
            return
    # Every other field of the wire is closed (catalog values, tokens, times): the
    # identifier could only travel in the free text, checked in canonical form.
    comment_out = json.loads(prepared.record.value).get("comment") or ""
    text = canonical(comment_out)
    if needle.isdigit():
        assert needle not in _digits(comment_out)
        assert not re.search(r"\d", text)
    else:
        assert needle not in skeleton(text)
        assert needle not in re.sub(r"[^A-Z]", "", skeleton(text))  # a name cut in pieces
        assert needle not in text.upper()
    for record in caplog.records:
        assert needle.lower() not in record.getMessage().lower()


def test_examples_were_run() -> None:
    # Runs after the property (file order); the count is printed for the closing note.
    print(f"property examples run: {EXAMPLES[0]}")
    assert EXAMPLES[0] >= 600
