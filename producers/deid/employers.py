"""Employers named in free text without "work at": cues around pay and job words.

Brand names ("walmart", "kroger", "fedex") are frequent words, so the allow-list keeps them;
an employer is a Safe Harbor identifier. :func:`employer_spans` yields the word that names
an employer in these forms:

* a pay or work word, then up to two filler words, then "at/for/by/with/@" and the name:
  "my job is at X", "worked nights for X", "got paid by X", "working @ X";
* a determiner, the name, then a job or pay noun: "I'm a X cashier", "my X paycheck".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from contracts.pii import Finding
from producers.deid.words import CX_WORDS, FUNCTION_WORDS, WORK_VERBS, split_words

__all__ = ["employer_spans"]

_PAY_WORDS: Final = WORK_VERBS | frozenset(
    split_words("job jobs paid pay pays paycheck payroll employment hired shifts working")
)
_FILLERS: Final = frozenset(
    split_words("is was s now still there nights days weekends part full time overnight as")
)
_LINKS: Final = frozenset(split_words("at for by with para en"))
_JOB_NOUNS: Final = frozenset(
    split_words(
        "cashier cashiers paycheck paychecks paystub paystubs payroll job employee employees "
        "associate associates uniform badge manager supervisor boss warehouse store driver "
        "drivers stocker"
    )
)
_DETERMINERS: Final = frozenset(split_words("my a an our his her their the"))
#: Words between a determiner and a job noun, or after "paid for", that name no employer.
_ORDINARY: Final = frozenset(
    split_words(
        "new old first last current former previous part full second night day local main "
        "regular good bad temporary seasonal year years month months week weeks day days hour "
        "hours minute minutes while long ever cash free nothing less more over under up "
        "minimum extra it that this what"
    )
)
_NOT_EMPLOYERS: Final = FUNCTION_WORDS | CX_WORDS | _FILLERS | _LINKS | _DETERMINERS | _ORDINARY


def employer_spans(text: str, tokens: list[re.Match[str]]) -> Iterator[Finding]:
    """Spans of the words of ``text`` that name an employer (see the module docstring)."""
    lowers = [token.group().lower() for token in tokens]
    for i, lower in enumerate(lowers):
        if lower in _PAY_WORDS:
            j = i + 1
            while j < min(i + 3, len(lowers)) and lowers[j] in _FILLERS:
                j += 1
            linked = j < len(lowers) and lowers[j] in _LINKS
            at_sign = j < len(lowers) and "@" in text[tokens[j - 1].end() : tokens[j].start()]
            if linked:
                j += 1
            while j < len(lowers) and lowers[j] in ("the", "a", "an"):
                j += 1
            if (linked or at_sign) and j < len(lowers) and lowers[j] not in _NOT_EMPLOYERS:
                yield Finding("name", *tokens[j].span())
        before = lowers[i - 1] if i >= 2 and lowers[i - 2] in _DETERMINERS else None
        if lower in _JOB_NOUNS and before and before not in _NOT_EMPLOYERS | _JOB_NOUNS:
            yield Finding("name", *tokens[i - 1].span())
