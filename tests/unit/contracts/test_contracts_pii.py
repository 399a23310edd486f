"""contracts.pii: the canonical form of any spelling, and the identifier shapes in it."""

from __future__ import annotations

import pytest

from contracts.events import ApplicationStatus, Feedback, ServiceInteraction
from contracts.pii import canonical, identifier_kinds, normalize, skeleton, spelled_digits
from contracts.pii.fields import free_form_fields


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\uff11\uff12\uff13", "123"),  # fullwidth
        ("\u0661\u0662\u0663", "123"),  # Arabic-Indic
        ("\u0967\u0968\u0969", "123"),  # Devanagari
        ("\U0001d7cf\U0001d7d0\U0001d7d1", "123"),  # mathematical bold
        ("\u00b9\u00b2\u00b3", "123"),  # superscripts
        ("1\u200b2\u00ad3\u200d4\ufeff5\x00", "12345"),  # invisibles and a NUL
        ("J\u0430n\u0435", "Jane"),  # Cyrillic a and e
        ("Jos\u00e9", "Jose"),
        ("1\u20132\u22123\u20144", "1-2-3-4"),  # en dash, minus, em dash
        ("a\tb\nc", "a b c"),
    ],
)
def test_normalize_folds_every_spelling(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jane [at] example [dot] org", "jane@example.org"),
        ("jane (at) example (dot) org", "jane@example.org"),
        ("jane @ example.org", "jane@example.org"),
        ("jane\uff20example.org", "jane@example.org"),
        ("hxxp://example[.]com", "http://example.com"),
        ("jane%40example.org", "jane@example.org"),
        ("jane&#64;example.org", "jane@example.org"),
    ],
)
def test_canonical_undoes_defanged_and_escaped_forms(text: str, expected: str) -> None:
    assert canonical(text) == expected


def test_skeleton_folds_leetspeak() -> None:
    assert skeleton("j4n3 d03") == skeleton("JANE DOE") == "JANE DOE"


def test_spelled_digits() -> None:
    assert spelled_digits(["four", "five", "six"]) == "456"
    assert spelled_digits(["nineteen", "eighty", "eight"]) == "1988"
    assert spelled_digits(["double", "seven"]) == "77"
    assert spelled_digits(["four", "cats"]) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("ssn 219 09 9999", "ssn"),
        ("ssn 219_09_9999", "ssn"),
        ("ssn 219:09:9999", "ssn"),
        ("call (850) 555-0172", "phone"),
        ("call eight five zero five five five zero one seven two", "phone"),
        ("zip 32301", "zip"),
        ("jane dot doe at example dot com", "email"),
        ("jose@correo.espa\u00f1a", "email"),
        ("see https://x.example/?name=jane", "url"),
        ("from 10[.]0[.]0[.]12", "ip"),
        ("born 02APR1988", "date"),
        ("born 2-Apr-1988", "date"),
        ("born April the 2nd 1988", "date"),
        ("born April the second, 1988", "date"),
        ("on 4/2", "date"),
        ("1988\u5e744\u67082\u65e5", "date"),
        ("at 4821 Larkspur Crescent", "address"),
        ("77 Sunset Strip", "address"),
        ("PO Box 1203", "address"),
        ("claim CLM-2024-00981", "number"),
        ("plate 7ABC123", "number"),
        ("MjE5LTA5LTk5OTk=", "encoded"),
        ("3231392d30392d39393939", "encoded"),
    ],
)
def test_identifier_shapes_are_found_in_any_spelling(text: str, kind: str) -> None:
    assert kind in identifier_kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "The clerk was helpful and the form was clear.",
        "I called one or two times.",
        "[NAME] said to wait [NUMBER] days",
        "The office was closed on Monday.",
        "La oficina estaba cerrada.",
    ],
)
def test_ordinary_text_has_no_identifier_shape(text: str) -> None:
    assert identifier_kinds(text) == ()


def test_free_form_fields_of_each_contract() -> None:
    assert free_form_fields(Feedback) == ("comment",)
    assert free_form_fields(ApplicationStatus) == ("reason_code",)
    assert free_form_fields(ServiceInteraction) == ()
