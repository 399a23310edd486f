"""Normalization of identity fields, so the same person formats to the same bytes everywhere.

Agencies type names, dates and numbers differently ("José O'Brien-Núñez", "JOSE OBRIEN NUNEZ").
Linkage only works when every agency reduces them to one canonical form before hashing, so
the rules here are part of the token specification (see ``producers/deid/TOKENS.md``):

* names: Unicode NFKD, combining marks dropped, a few letters without a decomposition
  transliterated (``ß`` → ``SS``, ``ø`` → ``O``...), upper case, everything that is not a
  letter or digit removed, a trailing generational suffix (``JR``, ``III``...) dropped;
* date of birth: ``YYYY-MM-DD``;
* SSN: exactly 9 digits, and a number the SSA never issues is refused;
* ZIP: the 5-digit ZIP (a ZIP+4 keeps its first five digits).

Error messages name what is wrong, never the value.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from typing import Final

__all__ = [
    "fold",
    "name_parts",
    "normalize_dob",
    "normalize_name",
    "normalize_ssn",
    "normalize_zip5",
    "parse_date",
]

# Letters that NFKD leaves whole, mapped to what an ASCII-only agency system would type.
_TRANSLITERATION: Final = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "\u0131": "i",  # dotless i
    }
)

_GENERATIONAL_SUFFIXES: Final = frozenset({"JR", "SR", "II", "III", "IV"})


def fold(text: str) -> str:
    """Upper-case ``text`` without diacritics (NFKD, combining marks dropped, transliterated).

    Punctuation and spaces are kept; :func:`normalize_name` removes them.
    """
    if text.isascii():
        return text.upper()  # the common case: nothing to decompose
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATION))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.upper()


def name_parts(name: str) -> tuple[str, ...]:
    """The folded words of a name, split at anything that is not a letter or digit.

    ``"Mary-Jane O'Brien"`` → ``("MARY", "JANE", "O", "BRIEN")``. Scrubbing and the PII guard
    look for these words; linkage uses :func:`normalize_name`.
    """
    return tuple(part for part in re.split(r"[\W_]+", fold(name)) if part)


@lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """Canonical form of a name for linkage: folded words joined without separators.

    ``"Núñez-García Jr."`` → ``"NUNEZGARCIA"``. Returns ``""`` when nothing is left, which
    the token rules treat as a missing name.
    """
    parts = list(name_parts(name))
    if len(parts) > 1 and parts[-1] in _GENERATIONAL_SUFFIXES:
        parts.pop()
    return "".join(parts)


_SSN_SEPARATORS: Final = re.compile(r"[\s.\-]")


def normalize_ssn(ssn: str) -> str:
    """Nine digits of a Social Security number written in any common format.

    Accepts ``123-45-6789``, ``123 45 6789``, ``123.45.6789`` and ``123456789``. Raises
    :class:`ValueError` for anything else and for numbers the SSA never issues: area ``000``,
    ``666`` or ``900`` to ``999``, group ``00``, serial ``0000``.
    """
    digits = _SSN_SEPARATORS.sub("", ssn.strip())
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        raise ValueError("an SSN has 9 digits (123-45-6789 or 123456789)")
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000":
        raise ValueError("not a valid SSN (area 000/666/9xx, group 00 or serial 0000)")
    return digits


_ZIP5: Final = re.compile(r"^([0-9]{5})(?:-?[0-9]{4})?$")


def normalize_zip5(zip_code: str) -> str:
    """The 5-digit ZIP of ``12345``, ``12345-6789`` or ``123456789``; :class:`ValueError` else."""
    match = _ZIP5.match(zip_code.strip())
    if match is None:
        raise ValueError("a ZIP code has 5 digits (or ZIP+4)")
    return match.group(1)


# Formats agency extracts use for dates. Month-first is the US convention; day-first
# strings such as 25/12/1990 are refused by strptime rather than silently swapped.
_DATE_FORMATS: Final = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%Y/%m/%d", "%m-%d-%Y")


def parse_date(value: str | date) -> date:
    """A calendar date from a ``date`` or a string in an agency format.

    Accepts ``YYYY-MM-DD``, ``MM/DD/YYYY``, ``YYYYMMDD``, ``YYYY/MM/DD`` and ``MM-DD-YYYY``;
    raises :class:`ValueError` (without echoing the value) for anything else.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("a date is YYYY-MM-DD, MM/DD/YYYY or YYYYMMDD")


def normalize_dob(dob: date) -> str:
    """Canonical date of birth for linkage: ``YYYY-MM-DD``."""
    return dob.isoformat()
