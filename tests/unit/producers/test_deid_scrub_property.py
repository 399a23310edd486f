"""Property: whatever the input, scrubbed text keeps only allow-listed words and no digit.

Random Unicode text (every script, invisible and control characters included) and random
mixes of safe words with digit runs and unknown words go through ``scrub_text``; the
output must hold no digit of any script, no word outside the allow-list (placeholders
aside), nothing the identifier detectors flag, and fit the contract's length limit.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.pii import canonical, identifier_kinds
from contracts.privacy import SCRUBBED_TEXT_MAX_LENGTH, find_pii_kinds
from producers.deid.scrub import scrub_text
from producers.deid.words import safe_words

EXAMPLES: list[int] = [0]
_PLACEHOLDER = re.compile(r"\[[A-Z]+\]")
_SAFE = sorted(safe_words())


def _check(text: str) -> None:
    EXAMPLES[0] += 1
    out = scrub_text(text)
    assert len(out) <= SCRUBBED_TEXT_MAX_LENGTH
    plain = _PLACEHOLDER.sub(" ", out)
    assert not any(ch.isdigit() for ch in plain)
    assert canonical(plain) == plain  # nothing left to fold: no other script, no invisible
    for word in re.findall(r"[^\W_]+(?:'[^\W\d_]+)?", plain):
        assert word.lower() in safe_words() or word == "I", word
    assert identifier_kinds(out) == ()
    assert find_pii_kinds(out) == ()


@settings(max_examples=1500, deadline=None)
@given(st.text(max_size=300))
def test_any_unicode_text(text: str) -> None:
    _check(text)


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_SAFE),
            st.from_regex(r"[0-9]{1,12}", fullmatch=True),
            st.from_regex(r"[A-Z][a-z]{2,10}", fullmatch=True),
            st.sampled_from([".", ",", "-", "@", "/", ":", "(at)", "[dot]", "\u200b", "\uff20"]),
        ),
        max_size=40,
    )
)
def test_safe_words_mixed_with_numbers_names_and_symbols(parts: list[str]) -> None:
    _check(" ".join(parts))


def test_examples_were_run() -> None:
    print(f"scrubber property examples run: {EXAMPLES[0]}")
    assert EXAMPLES[0] >= 3000
