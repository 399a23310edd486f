"""Free-text scrubbing: identifier shapes and the record's own values become placeholders."""

from __future__ import annotations

import pytest

from contracts.privacy import SCRUBBED_TEXT_MAX_LENGTH, find_pii_kinds
from producers import TextPolicy
from producers.deid import own_values, scrub_free_text, scrub_text
from tests.support.raw_records import feedback


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN 219-09-9999 please", "SSN [SSN] please"),
        ("SSN 219 09 9999", "SSN [SSN]"),
        ("ssn:219.09.9999.", "ssn:[SSN]."),
        ("ssn 219099999", "ssn [SSN]"),
        ("call (850) 555-0172 now", "call [PHONE] now"),
        ("call 850-555-0172", "call [PHONE]"),
        ("call 850.555.0172 ext. 12", "call [PHONE]"),
        ("call +1 850 555 0172", "call [PHONE]"),
        ("call 8505550172", "call [PHONE]"),
        ("mail Someone.Else+tag@Mail.Example.com today", "mail [EMAIL] today"),
        ("see https://example.com/u/someone?x=1.", "see [URL]."),
        ("see www.example.org/profile, thanks", "see [URL], thanks"),
        ("see facebook.com/some.one", "see [URL]"),
        ("from 192.168.10.20 today", "from [IP] today"),
        ("from 2001:db8::8a2e:370:7334 today", "from [IP] today"),
        ("from fe80::1%eth0 today", "from [IP] today"),
        # Stricter since #16: every digit run is replaced (a time too), and "sharp" is a
        # census surname, so not on the allow-list.
        ("at 10:30:15 sharp", "at [NUMBER] [WORD]"),
        ("case 12345678901234", "case [NUMBER]"),
        ("card 4111 1111 1111 1111", "card [NUMBER]"),
        ("ref 123456", "ref [NUMBER]"),
        ("ref 12345", "ref [NUMBER]"),
        ("on 03/07/2026 I applied", "on [DATE] I applied"),
        ("on 2026-03-07 I applied", "on [DATE] I applied"),
        ("on March 7, 2026 I applied", "on [DATE] I applied"),
        ("on 7th of March I applied", "on [DATE] I applied"),
        ("moved in May 2024", "moved in [DATE]"),
        ("lives at 12 Oak Street, Apt 4B", "lives at [ADDRESS]"),
        ("send to PO Box 1234", "send to [ADDRESS]"),
        ("waited 3 hours, rated it 4 of 5", "waited [NUMBER] hours, rated it [NUMBER] of [NUMBER]"),
    ],
)
def test_identifier_shapes_become_placeholders(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_own_name_parts_are_replaced_case_and_diacritics_insensitively() -> None:
    own = own_values(names=("Zoë", "Marie", "Quintanilla-Ortega"))
    text = "ZOE, zoë and Zoe\u0308 Quintanilla ortega (QUINTANILLAORTEGA); Marie-Zoë"
    scrubbed = scrub_text(text, own)
    # Since #16 consecutive equal placeholders are merged ("[NAME]-[NAME]" -> "[NAME]").
    assert scrubbed == "[NAME] and [NAME] ([NAME]); [NAME]"


def test_own_name_parts_match_whole_words_only() -> None:
    own = own_values(names=("Ann", "Lee"))
    assert scrub_text("Annual leeway for Ann Lee", own) == "Annual leeway for [NAME]"


@pytest.mark.parametrize(
    "text",
    ["delphi ne here", "d elphine here", "del-phine here", "del phine here", "thorn bury here",
     "Thorn-Bury here", "thorn'bury here", "vas quez here", "de lph ine here"],
)  # fmt: skip
def test_an_own_name_cut_into_ordinary_words_is_still_the_name(text: str) -> None:
    # "delphi" and "ne" are each allow-listed words; joined they are the person's name.
    own = own_values(names=("Delphine", "Vasquez-Thornbury"))
    assert scrub_text(text, own) == "[NAME] here"


def test_ordinary_words_next_to_each_other_are_not_a_split_name() -> None:
    own = own_values(names=("Ann", "Lee"))
    assert scrub_text("an n in the plan, the leeway", own) == "an n in the plan, the leeway"


def test_single_letter_initials_are_left_alone() -> None:
    own = own_values(names=("J", "Doe-Smith"))
    assert scrub_text("J. Doe-Smith and a cat", own) == "J. [NAME] and a cat"


def test_own_address_city_zip_email_user_and_account_are_replaced() -> None:
    own = own_values(
        names=(),
        street_address="4821 Larkspur Crescent",
        city="Salt Lake City",
        zip5="84101",
        email="zq90@example.org",
        account_number="WIC-88213947",
    )
    text = (
        "at 4821  larkspur crescent in SALT LAKE CITY 84101, on Larkspur Crescent; "
        "user zq90; account wic-88213947"
    )
    assert scrub_text(text, own) == (
        "at [ADDRESS] [NUMBER], on [ADDRESS]; user [EMAIL]; account [NUMBER]"
    )


def test_a_name_equal_to_a_placeholder_word_does_not_corrupt_placeholders() -> None:
    own = own_values(names=("Email", "Name"))
    assert scrub_text("Name Email: a@b.example", own) == "[NAME]: [EMAIL]"


def test_scrubbed_comment_is_valid_scrubbed_text() -> None:
    scrubbed = scrub_free_text(feedback())
    assert scrubbed is not None
    assert find_pii_kinds(scrubbed) == ()
    for value in ("Zoe", "Quintanilla", "9999", "0172", "example.org", "1990", "Larkspur",
                  "Tallahassee", "32301", "88213947"):  # fmt: skip
        assert value.lower() not in scrubbed.lower()


def test_drop_policy_removes_free_text() -> None:
    assert scrub_free_text(feedback(), TextPolicy.DROP) is None


def test_long_text_is_truncated_to_the_contract_limit() -> None:
    scrubbed = scrub_text("word " * 1000)
    assert len(scrubbed) <= SCRUBBED_TEXT_MAX_LENGTH
    assert scrubbed.endswith("…")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my kids max and hope were sick", "my kids [NAME] and [NAME] were sick"),
        ("mis hijos max y hope", "mis hijos [NAME] y [NAME]"),
        ("grandkids max & ruby live with me", "grandkids [NAME] & [NAME] live with me"),
        ("hubby ray lost his job", "hubby [NAME] lost his job"),
        ("my newborn, grace, needs a card", "my newborn, [NAME], needs a card"),
        ("my employer is target", "my employer is [NAME]"),
        ("i was laid off from target", "i was laid off from [NAME]"),
        ("im a cashier at subway", "im a cashier at [NAME]"),
        ("my son and daughter are sick", "my son and daughter are sick"),
        ("my baby's SSN was wrong", "my baby's SSN was wrong"),
    ],
)
def test_relatives_and_employers_named_with_everyday_words_are_removed(
    text: str, expected: str
) -> None:
    # "max", "hope", "ray", "grace", "target", "subway" are allow-listed words; after a
    # relation word (plural and informal ones too), in a list, or after an employer
    # context they are names.
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apartment twelve B, please", "[ADDRESS], please"),
        ("lot seventeen at the park", "[ADDRESS] at the park"),
        ("the box was empty", "the box was empty"),
    ],
)
def test_a_spelled_unit_or_lot_number_is_an_address(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_a_word_spelled_letter_by_letter_is_removed_even_when_it_is_a_word() -> None:
    # An e-mail spelled out: "mailbox" is an allow-listed word, spelled it is not prose.
    assert "m a i l" not in scrub_text("write to m a i l b o x . o r g please")
