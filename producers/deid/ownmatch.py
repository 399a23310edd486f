"""The record's own identifier values, found in canonical text whatever their spelling.

Used by the scrubber (to replace them) and the PII guard (to refuse an event that still
holds one). The text is first put in canonical form (:func:`contracts.pii.canonical`), so
fullwidth, other-script digits, look-alike letters and invisible characters no longer
matter; then:

* **digits** (SSN, phone, ZIP, account and application numbers, the date of birth in its
  numeric forms) are compared inside each *digit run*: digits and spelled-out digits with
  any separators between them ("123 45_6789", "four five six ..."), so a value is found
  however it is split, but never by gluing together numbers that stand apart;
* **names** are compared on the leetspeak-folded skeleton of each word, with runs of single
  letters joined ("J a n e", "J.A.N.E"), digits dropped ("janedoe88") and glued forms split
  into parts and initials ("janedoe", "jdoe", "doej", "j.doe");
* **streets and cities** as word sequences of that skeleton.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from contracts.pii import Finding, digit_runs, skeleton
from producers.deid.normalize import fold, name_parts

__all__ = ["OwnMatcher"]

_TOKEN: Final = re.compile(r"[^\W_]+")
# Single characters separated by at most two separators: "J a n e", "J.A.N.E", "J-a-n-e".
_SPACED: Final = re.compile(r"(?<![^\W_])[^\W_](?:[\s.\-_*/|]{1,2}[^\W_])+(?![^\W_])")
# A name split into pieces: at most three pieces, separated by at most three separators.
_SPLIT_GAP: Final = re.compile(r"[\s.\-_*/|'\u2019]{1,3}")
_SPLIT_PIECES: Final = 3
_SPLIT_MIN: Final = 4


def _dob_forms(dob: date) -> set[str]:
    y, m, d = f"{dob.year:04d}", f"{dob.month:02d}", f"{dob.day:02d}"
    forms = {m + d + y, y + m + d, d + m + y, m + d + y[2:], d + m + y[2:], y[2:] + m + d}
    forms |= {str(dob.month) + str(dob.day) + y, str(dob.day) + str(dob.month) + y}
    return {f for f in forms if len(f) >= 5}


@dataclass(frozen=True, slots=True)
class OwnMatcher:
    """One record's values in comparable form (repr shows nothing)."""

    name_parts: frozenset[str] = frozenset()
    initials: frozenset[str] = frozenset()
    phrases: tuple[tuple[tuple[str, ...], str], ...] = ()
    digits: tuple[tuple[str, str], ...] = ()
    _longest: int = field(default=0)

    def __repr__(self) -> str:
        return "OwnMatcher(<redacted>)"

    __str__ = __repr__

    @classmethod
    def of(
        cls,
        *,
        names: tuple[str | None, ...],
        street_address: str | None = None,
        city: str | None = None,
        zip5: str | None = None,
        ssn: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        account_number: str | None = None,
        application_id: str | None = None,
        date_of_birth: date | None = None,
    ) -> OwnMatcher:
        parts: set[str] = set()
        initials: set[str] = set()
        for name in names:
            words = [skeleton(w) for w in name_parts(name)] if name else []
            for word in words:
                initials.add(word[0])
                if len(word) >= 2:
                    parts.add(word)
            if len(words) > 1:
                parts.add("".join(words))
        phrases: list[tuple[tuple[str, ...], str]] = []
        for value in (street_address, city):
            words_t = tuple(skeleton(w) for w in name_parts(value)) if value else ()
            if words_t:
                phrases.append((words_t, "address"))
                street = tuple(w for w in words_t if not w.isdigit())
                if street and street != words_t and len("".join(street)) >= 5:
                    phrases.append((street, "address"))
        user = email.split("@", 1)[0] if email and "@" in email else ""
        user_words = tuple(skeleton(w) for w in name_parts(user))
        if len("".join(user_words)) >= 4:
            phrases.append((user_words, "email"))
            parts.add("".join(user_words))
        digits: list[tuple[str, str]] = []
        for kind, value in (("zip", zip5), ("ssn", ssn), ("phone", phone),
                            ("account_number", account_number),
                            ("application_id", application_id)):  # fmt: skip
            only = re.sub(r"\D", "", fold(value)) if value else ""
            if len(only) >= 4:
                digits.append((kind, only))
                if kind == "phone" and len(only) >= 10:
                    digits.append((kind, only[-10:]))
                    digits.append((kind, only[-7:]))
            if value and kind in ("account_number", "application_id"):
                words_a = tuple(skeleton(w) for w in name_parts(value))
                if len("".join(words_a)) >= 4:
                    phrases.append((words_a, "number"))
        if date_of_birth is not None:
            digits.extend(("date_of_birth", form) for form in sorted(_dob_forms(date_of_birth)))
        return cls(frozenset(parts), frozenset(initials), tuple(phrases), tuple(digits))

    def _glued(self, word: str) -> bool:
        """Whether ``word`` is made only of this person's name parts and initials, at least
        one of them a whole part ("JANEDOE", "JDOE", "DOEJ")."""
        if not word:
            return False
        ok: dict[int, bool] = {len(word): False}
        for start in range(len(word) - 1, -1, -1):
            found = False
            for part in self.name_parts:
                end = start + len(part)
                if word.startswith(part, start) and (
                    end == len(word) or ok.get(end, False) or self._initials_only(word[end:])
                ):
                    found = True
                    break
            if not found and word[start] in self.initials and ok.get(start + 1, False):
                found = True
            ok[start] = found
        return ok[0]

    def _initials_only(self, rest: str) -> bool:
        return len(rest) <= 2 and all(c in self.initials for c in rest)

    def _name_word(self, word: str) -> bool:
        candidates = {skeleton(word), skeleton(re.sub(r"\d+", "", word))}
        return any(c in self.name_parts or self._glued(c) for c in candidates if c)

    def _split_names(self, text: str) -> list[Finding]:
        """A name cut into two or three pieces by separators ("delphi ne", "d elphine",
        "thorn-bury"): each piece may be an ordinary word, the pieces joined are a name."""
        tokens = list(_TOKEN.finditer(text))
        found: list[Finding] = []
        for i in range(len(tokens) - 1):
            joined = tokens[i].group()
            for j in range(i + 1, min(i + _SPLIT_PIECES, len(tokens))):
                if not _SPLIT_GAP.fullmatch(text[tokens[j - 1].end() : tokens[j].start()]):
                    break
                joined += tokens[j].group()
                if len(joined) < _SPLIT_MIN:
                    continue
                # An initial before a name ("J. Doe") is left to the initials rule.
                whole = skeleton(joined) in self.name_parts
                if whole or (len(tokens[i].group()) > 1 and self._name_word(joined)):
                    found.append(Finding("name", tokens[i].start(), tokens[j].end()))
        return found

    def findings(self, text: str) -> list[Finding]:
        """Spans of this record's values in canonical ``text`` (kind = the raw field)."""
        found: list[Finding] = []
        if self.name_parts:
            for match in _TOKEN.finditer(text):
                if self._name_word(match.group()):
                    found.append(Finding("name", *match.span()))
            for match in _SPACED.finditer(text):
                letters = re.sub(r"[\s.\-_*/|]", "", match.group())
                if len(letters) >= 3 and self._name_word(letters):
                    found.append(Finding("name", *match.span()))
            found.extend(self._split_names(text))
        if self.phrases:
            tokens = [(skeleton(m.group()), m.span()) for m in _TOKEN.finditer(text)]
            words = [t for t, _ in tokens]
            for phrase, kind in self.phrases:
                size = len(phrase)
                for i in range(len(words) - size + 1):
                    if tuple(words[i : i + size]) == phrase:
                        start, end = tokens[i][1][0], tokens[i + size - 1][1][1]
                        found.append(Finding(kind, start, end))
        if self.digits:
            for start, end, digits, _ in digit_runs(text):
                for kind, value in self.digits:
                    if value in digits:
                        found.append(Finding(kind, start, end))
                        break
        return found
