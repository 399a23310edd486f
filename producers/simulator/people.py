"""Synthetic people: invented identities with the untidiness of real agency data.

Every value is drawn from a seeded :class:`random.Random`; nothing refers to a real person.
The values are recognizably synthetic where a convention exists: e-mail addresses use the
reserved ``example.*`` domains (RFC 2606) and phone numbers the ``555-01xx`` block that is
reserved for fiction. SSNs are valid in *format* (the de-identifier refuses never-issued
numbers) and are drawn from areas 773-899, which the SSA did not issue before it randomized
assignment in 2011, so a collision with a real, older number is unlikely.

Names carry diacritics, apostrophes, hyphens and generational suffixes now and then, and
each agency writes them its own way (:class:`IdentityStyle`): the de-identifier must reduce
all spellings of one person to one journey token.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Any, Final

from producers.deid.normalize import fold

__all__ = [
    "RESTRICTED_PLACES",
    "IdentityStyle",
    "NameCase",
    "Person",
    "make_person",
]

# Given names: mostly plain ASCII, some with diacritics or punctuation, as agencies see them.
_FEMALE: Final = (
    "Maria",
    "Jennifer",
    "Aaliyah",
    "Sofía",
    "Zoë",
    "Chloé",
    "Renée",
    "Mary-Jane",
    "Siobhán",
    "Keisha",
    "Emily",
    "Guadalupe",
    "Nguyet",
    "Ingrid",
    "Françoise",
    "Latoya",
    "Abigail",
    "Priya",
    "Hannah",
    "Ximena",
    "Brianna",
    "Margaret",
    "Dolores",
    "Yesenia",
    "Tamika",
    "Anh",
    "Rosalind",
    "Bethany",
    "Lucía",
    "Marguerite",
)
_MALE: Final = (
    "James",
    "Robert",
    "José",
    "Andrés",
    "Jamal",
    "Björn",
    "Łukasz",
    "Søren",
    "Jean-Luc",
    "DeShawn",
    "Tyrone",
    "Michael",
    "Santiago",
    "Darnell",
    "Hiroshi",
    "Mateo",
    "Connor",
    "Raúl",
    "Dmitri",
    "Kwame",
    "Terrence",
    "Ezekiel",
    "Thanh",
    "Gareth",
    "Brandon",
    "Ignacio",
    "Wesley",
    "Marcus",
    "Nikolai",
    "Reginald",
)
_LAST: Final = (
    "Johnson",
    "Williams",
    "García",
    "Núñez-García",
    "O'Brien",
    "Nguyễn",
    "Okonkwo",
    "Washington",
    "Hernández",
    "D'Angelo",
    "Kowalski",
    "Schröder",
    "Yazzie",
    "Begay",
    "St. Clair",
    "MacDonald",
    "Van der Berg",
    "Abernathy",
    "Pérez",
    "Thibodeaux",
    "Castellanos",
    "Fitzgerald",
    "Whitfield",
    "Ramírez",
    "Kealoha",
    "Tran",
    "Dvořák",
    "Oyelaran",
    "Quintanilla-Ortega",
    "Broussard",
    "Lindqvist",
    "Halvorsen",
    "Muñoz",
    "Delacroix",
    "Mwangi",
    "Pemberton",
    "Yamamoto",
    "Blackfeather",
    "Szabó",
    "Achterberg",
)
_MIDDLE: Final = ("Ann", "Marie", "Lee", "Elena", "James", "Ray", "Louise", "Tomás", "Grace")
_SUFFIXES: Final = ("Jr.", "Sr.", "III", "II")

_STREETS: Final = (
    "Larkspur",
    "Magnolia",
    "Cottonwood",
    "Juniper",
    "Sycamore",
    "Prairie View",
    "Harbor",
    "Mesquite",
    "Willowbrook",
    "Ridgecrest",
    "Aspen Hollow",
    "Bayou",
    "Pinecone",
    "Falcon",
)
_STREET_KINDS: Final = ("Street", "Avenue", "Road", "Drive", "Lane", "Court", "Way", "Terrace")
_DOMAINS: Final = ("example.org", "example.com", "example.net")

#: (city, state, ZIP5) places people live in; ZIP3 areas large enough to be published.
_PLACES: Final[tuple[tuple[str, str, str], ...]] = (
    ("Tallahassee", "FL", "32301"),
    ("Albuquerque", "NM", "87102"),
    ("Baton Rouge", "LA", "70802"),
    ("Fresno", "CA", "93701"),
    ("Dayton", "OH", "45402"),
    ("Tulsa", "OK", "74103"),
    ("Spokane", "WA", "99201"),
    ("Jackson", "MS", "39201"),
    ("Providence", "RI", "02903"),
    ("Bangor", "ME", "04401"),
    ("Houston", "TX", "77002"),
    ("Newark", "NJ", "07102"),
    ("Gary", "IN", "46402"),
    ("San Juan", "PR", "00901"),
    ("Honolulu", "HI", "96813"),
    ("Norfolk", "VA", "23510"),
    ("Fayetteville", "NC", "28301"),
    ("Killeen", "TX", "76541"),
    ("Lake Charles", "LA", "70601"),
    ("Paradise", "CA", "95969"),
)
#: Places in restricted ZIP3 areas (fewer than 20,000 people): published ZIP3 becomes 000.
RESTRICTED_PLACES: Final[tuple[tuple[str, str, str], ...]] = (
    ("Valentine", "NE", "69201"),
    ("Socorro", "NM", "87801"),
    ("Ely", "NV", "89301"),
    ("Rawlins", "WY", "82301"),
    ("Grand Marais", "MN", "55604"),
    ("Tucumcari", "NM", "88401"),
)
_AREA_CODES: Final = ("850", "505", "225", "559", "937", "918", "509", "601", "401", "207")

#: Share of people living in a restricted ZIP3 area (rural, so over-represented a little).
_RESTRICTED_SHARE: Final = 0.05


@dataclass(frozen=True, slots=True)
class Person:
    """One invented person, in the canonical spelling; agencies render it via a style.

    Holds synthetic identifiers only; its repr shows the internal number, nothing else.
    """

    number: int
    first_name: str
    middle_name: str | None
    last_name: str
    suffix: str | None
    sex: str
    date_of_birth: date
    ssn: str
    street_address: str
    city: str
    state: str
    zip5: str
    zip4: str
    phone_digits: str
    email: str

    def __repr__(self) -> str:
        return f"Person(#{self.number})"

    __str__ = __repr__

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day``."""
        before = (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day)
        return day.year - self.date_of_birth.year - int(before)


def _ssn(rng: random.Random) -> str:
    area = rng.randint(773, 899)
    return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


def _ascii_handle(text: str) -> str:
    return "".join(ch for ch in fold(text).lower() if ch.isalnum())


def make_person(rng: random.Random, number: int, *, born_between: tuple[date, date]) -> Person:
    """A new synthetic person born in the given (inclusive) date range."""
    sex = rng.choice(("F", "M"))
    first = rng.choice(_FEMALE if sex == "F" else _MALE)
    last = rng.choice(_LAST)
    middle = rng.choice(_MIDDLE) if rng.random() < 0.55 else None
    suffix = rng.choice(_SUFFIXES) if sex == "M" and rng.random() < 0.06 else None
    low, high = born_between
    dob = low + timedelta(days=rng.randint(0, (high - low).days))
    places = RESTRICTED_PLACES if rng.random() < _RESTRICTED_SHARE else _PLACES
    city, state, zip5 = rng.choice(places)
    street = f"{rng.randint(12, 9899)} {rng.choice(_STREETS)} {rng.choice(_STREET_KINDS)}" + (
        f" Apt {rng.randint(1, 40)}" if rng.random() < 0.2 else ""
    )
    phone = f"{rng.choice(_AREA_CODES)}555{rng.randint(100, 199):04d}"
    handle = rng.choice(
        (
            f"{_ascii_handle(first)}.{_ascii_handle(last)}",
            f"{_ascii_handle(first)[0]}{_ascii_handle(last)}{dob.year % 100:02d}",
            f"{_ascii_handle(last)}{rng.randint(1, 999)}",
        )
    )
    return Person(
        number=number,
        first_name=first,
        middle_name=middle,
        last_name=last,
        suffix=suffix,
        sex=sex,
        date_of_birth=dob,
        ssn=_ssn(rng),
        street_address=street,
        city=city,
        state=state,
        zip5=zip5,
        zip4=f"{rng.randint(1, 9999):04d}",
        phone_digits=phone,
        email=f"{handle}@{rng.choice(_DOMAINS)}",
    )


class NameCase(Enum):
    """How an agency system writes names."""

    AS_GIVEN = "as-given"  # modern systems keep diacritics and punctuation
    UPPER_ASCII = "upper-ascii"  # legacy systems: upper case, no diacritics
    UPPER_PLAIN = "upper-plain"  # ... and no punctuation either ("OBRIEN", "NUNEZ GARCIA")


@dataclass(frozen=True, slots=True)
class IdentityStyle:
    """How one agency's systems write identities (every form normalizes to the same token).

    ``ssn_format`` is None for agencies that do not collect SSNs (their records link by
    name, date of birth and ZIP3).
    """

    name_case: NameCase = NameCase.AS_GIVEN
    ssn_format: str | None = "dashed"
    dob_format: str = "%Y-%m-%d"
    phone_format: str = "paren"
    zip_plus4: bool = False
    middle: str = "full"  # "full", "initial" or "none"
    has_address: bool = True
    has_email: bool = True

    def render(self, person: Person) -> dict[str, Any]:
        """The identity columns of a raw record for ``person`` as this agency writes them."""
        last = person.last_name + (f" {person.suffix}" if person.suffix else "")
        middle = person.middle_name
        if middle and self.middle == "initial":
            middle = middle[0] + "."
        elif self.middle == "none":
            middle = None
        names = [person.first_name, middle, last]
        rendered = [None if name is None else self._name(name) for name in names]
        p = person.phone_digits
        phone = {
            "paren": f"({p[:3]}) {p[3:6]}-{p[6:]}",
            "dashed": f"{p[:3]}-{p[3:6]}-{p[6:]}",
            "bare": p,
            "e164": f"+1 {p[:3]} {p[3:6]} {p[6:]}",
        }[self.phone_format]
        s = person.ssn
        ssn = {
            None: None,
            "dashed": f"{s[:3]}-{s[3:5]}-{s[5:]}",
            "bare": s,
            "spaced": f"{s[:3]} {s[3:5]} {s[5:]}",
        }[self.ssn_format]
        upper = self.name_case is not NameCase.AS_GIVEN
        return {
            "first_name": rendered[0],
            "middle_name": rendered[1],
            "last_name": rendered[2],
            "ssn": ssn,
            "date_of_birth": person.date_of_birth.strftime(self.dob_format),
            "sex": person.sex,
            "street_address": (
                (person.street_address.upper() if upper else person.street_address)
                if self.has_address
                else None
            ),
            "city": (person.city.upper() if upper else person.city) if self.has_address else None,
            "state": person.state,
            "zip": f"{person.zip5}-{person.zip4}" if self.zip_plus4 else person.zip5,
            "phone": phone,
            "email": person.email if self.has_email else None,
        }

    def _name(self, name: str) -> str:
        if self.name_case is NameCase.AS_GIVEN:
            return name
        folded = fold(name)
        if self.name_case is NameCase.UPPER_ASCII:
            return folded
        # Punctuation removed the way fixed-width legacy fields do it: apostrophes and
        # periods vanish, hyphens become spaces.
        plain = folded.replace("'", "").replace(".", "").replace("-", " ")
        return " ".join(plain.split())
