"""Adversarial spellings found by the #16 adversarial pass, as properties over the wire.

Each family generates new combinations (not the hostile corpus) and pushes the comment
through ``EventPreparer.prepare`` (the path of ``AgencyPublisher`` and ``publish
--dry-run``); the event is either refused (PiiLeak, naming no value) or its scrubbed
comment holds nothing of the identifier.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.keyring import Keyring
from producers.errors import PiiLeak
from producers.publisher.prepare import EventPreparer
from tests.support.keyrings import keyring_for
from tests.support.raw_records import feedback

_LANGUAGES = (
    "zero one two three four five six seven eight nine",
    "cero uno dos tres cuatro cinco seis siete ocho nueve",
    "zero um dois tres quatro cinco seis sete oito nove",
    "zero uno due tre quattro cinque sei sette otto nove",
    "zero un deux trois quatre cinq six sept huit neuf",
    "null eins zwei drei vier fünf sechs sieben acht neun",
    "không một hai ba bốn năm sáu bảy tám chín",
)
_ODD_SEPARATORS = (" -- ", "; ", " · ", " • ", "... ", " = ", " & ", " ~~ ", "\n\n", " ; ",
                   " >> ", " then ", "…", " — ", "; and ")  # fmt: skip
_ALL_DIGIT_WORDS = frozenset(
    word for language in _LANGUAGES for word in language.replace("ü", "u").split()
) | {"mot", "bon", "nam", "sau", "bay", "tam", "chin", "khong"}

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def preparer(tmp_path_factory: pytest.TempPathFactory) -> EventPreparer:
    ring: Keyring = keyring_for(
        tmp_path_factory.mktemp("ring") / "k", ["usda-fns"], ["having-a-child"]
    )
    return EventPreparer("usda-fns", ring)


def _comment_on_wire(preparer: EventPreparer, text: str) -> str | None:
    """The scrubbed comment of the prepared event, or None when the guard refused it."""
    try:
        prepared = preparer.prepare(feedback(free_text=text))
    except PiiLeak as exc:
        assert text not in str(exc)
        return None
    return str(json.loads(prepared.record.value).get("comment") or "")


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.lower())


@SETTINGS
@given(
    digits=st.from_regex(r"[1-8][0-9]{8,9}", fullmatch=True),
    language=st.sampled_from(_LANGUAGES),
    separator=st.sampled_from(_ODD_SEPARATORS),
    prefix=st.sampled_from(["my number is", "ssn", "call", "", "numero"]),
)
def test_spelled_digits_with_any_separator_or_language_never_travel(
    preparer: EventPreparer, digits: str, language: str, separator: str, prefix: str
) -> None:
    words = language.split()
    spelled = separator.join(words[int(d)] for d in digits)
    out = _comment_on_wire(preparer, f"{prefix} {spelled} thanks")
    if out is not None:
        assert not re.search(r"\d", out)
        kept = [w for w in _words(out) if w in _ALL_DIGIT_WORDS]
        assert len(kept) < 3, out


_NATO_WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike "
    "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu"
)
_NATO = dict(zip("abcdefghijklmnopqrstuvwxyz", _NATO_WORDS.split(" "), strict=True))
_EXAMPLE_WORDS = {"z": "zebra", "o": "ocean", "e": "echo", "q": "queen", "u": "umbrella",
                  "i": "igloo", "n": "nancy", "t": "tom", "a": "apple", "l": "lincoln",
                  "r": "river", "s": "sugar", "m": "mary"}  # fmt: skip


@SETTINGS
@given(
    word=st.text(alphabet="zoequintalrsm", min_size=4, max_size=11),
    case=st.sampled_from([str.lower, str.upper, str.title]),
    separator=st.sampled_from([" ", "-", ", ", " / ", ". ", "  "]),
    as_in=st.booleans(),
    link=st.sampled_from(["as in", "like", "for"]),
)
def test_a_spelling_alphabet_does_not_carry_a_name_through(
    preparer: EventPreparer, word: str, case: object, separator: str, as_in: bool, link: str
) -> None:
    if as_in:
        parts = [f"{c.upper()} {link} {_EXAMPLE_WORDS[c]}" for c in word]
    else:
        parts = [case(_NATO[c]) for c in word]  # type: ignore[operator]
    out = _comment_on_wire(preparer, f"my name is spelled {separator.join(parts)} for the clerk")
    if out is not None:
        spelling = set(_NATO.values()) | set(_EXAMPLE_WORDS.values())
        kept = [w for w in _words(out) if w in spelling]
        assert len(kept) < 2, out


_SAFE_HANDLE_WORDS = ("river", "sky", "sunshine", "mama", "journey", "heaven", "miracle")


@SETTINGS
@given(
    words=st.lists(st.sampled_from(_SAFE_HANDLE_WORDS), min_size=2, max_size=3, unique=True),
    glue=st.sampled_from(["_", ".", "__"]),
    form=st.sampled_from([
        "find me {h} online", "my ig is @{h}", "twitter: @{h} thanks", "snap {h} ok",
        "mail {u} at gmail", "mail {u} at yahoo.nl", "write {u} @ web.de please",
        "see facebook dot com slash {u}", "see instagram dot com/{h}",
        "see facebook.com slash {u} dot {u}",
    ]),
)  # fmt: skip
def test_handles_and_contacts_made_of_ordinary_words_do_not_travel(
    preparer: EventPreparer, words: list[str], glue: str, form: str
) -> None:
    handle = glue.join(words)
    out = _comment_on_wire(preparer, form.format(h=handle, u=handle))
    if out is not None:
        kept = [w for w in _words(out) if w in _SAFE_HANDLE_WORDS]
        assert not kept, out


def _split(words: str) -> list[str]:
    return words.split()


_CARDINALS = _split("one two three four five six seven eight nine ten eleven twelve thirteen "
              "fourteen fifteen sixteen seventeen eighteen nineteen twenty")  # fmt: skip
_MONTHS = _split("january february march april june july august september october november "
           "december jan feb mar apr jun jul aug sept oct nov dec")  # fmt: skip
_SPANISH_DAYS = _split("uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece "
                 "catorce quince veinte")  # fmt: skip
_SPANISH_MONTHS = _split("enero febrero marzo abril junio julio agosto septiembre octubre "
                   "noviembre diciembre")  # fmt: skip


@SETTINGS
@given(
    day=st.integers(0, len(_CARDINALS) - 1),
    month=st.integers(0, len(_MONTHS) - 1),
    spanish=st.booleans(),
    form=st.sampled_from(["{d} {m}", "{m} {d}", "the {d} of {m}", "{m} the {d}", "{d} de {m}"]),
    prefix=st.sampled_from(["born", "my birthday is", "dob:", "nací el", "born on"]),
)
def test_a_date_with_a_cardinal_day_word_does_not_travel(
    preparer: EventPreparer, day: int, month: int, spanish: bool, form: str, prefix: str
) -> None:
    d = _SPANISH_DAYS[day % len(_SPANISH_DAYS)] if spanish else _CARDINALS[day]
    m = _SPANISH_MONTHS[month % len(_SPANISH_MONTHS)] if spanish else _MONTHS[month]
    out = _comment_on_wire(preparer, f"{prefix} {form.format(d=d, m=m)} and I applied")
    if out is not None:
        words = _words(out)
        assert not (d in words and m in words), out


_WORD_NAMES = ("river", "journey", "heaven", "unique", "messiah", "legend", "miracle", "sky")


@SETTINGS
@given(
    name=st.sampled_from(_WORD_NAMES),
    relation=st.sampled_from(["daughter", "son", "granddaughter", "wife", "husband", "niece"]),
    possessive=st.sampled_from(["my", "our", "her"]),
    form=st.sampled_from([
        "{n}, {p} {r}, applied", "me and {n} ({p} {r}) went", "{n} is {p} {r} and was sick",
        "{N} - {p} {r} - called", "we took {n}: {p} {r}", "{n} was {p} {r}",
    ]),
)  # fmt: skip
def test_a_name_before_my_relation_does_not_travel(
    preparer: EventPreparer, name: str, relation: str, possessive: str, form: str
) -> None:
    text = form.format(n=name, N=name.title(), p=possessive, r=relation)
    out = _comment_on_wire(preparer, text)
    if out is not None:
        assert name not in _words(out), out


@SETTINGS
@given(
    city=st.sampled_from(["miami", "tampa", "atlanta", "jacksonville", "orlando", "tucson",
                          "spokane", "boise", "akron", "albuquerque", "baltimore"]),
    form=st.sampled_from(["the {c} office was slow", "drove to {c} for it", "we're from {c}",
                          "went to the office in {c}", "{c} never called back"]),
)  # fmt: skip
def test_a_us_city_name_does_not_travel(preparer: EventPreparer, city: str, form: str) -> None:
    out = _comment_on_wire(preparer, form.format(c=city))
    if out is not None:
        assert city not in _words(out), out


@SETTINGS
@given(
    employer=st.sampled_from(["walmart", "costco", "kroger", "starbucks", "amazon", "fedex"]),
    form=st.sampled_from(["my job is at {e} now", "I'm a {e} cashier", "got paid by {e} late",
                          "my {e} paycheck", "worked nights for {e}", "working @ {e}",
                          "my job was with {e}", "an {e} associate told me"]),
)  # fmt: skip
def test_an_employer_named_by_a_pay_or_job_cue_does_not_travel(
    preparer: EventPreparer, employer: str, form: str
) -> None:
    out = _comment_on_wire(preparer, form.format(e=employer))
    if out is not None:
        assert employer not in _words(out), out
