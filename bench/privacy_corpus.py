# ruff: noqa: RUF001 - hostile spellings (fullwidth, bold digits, look-alikes) are the point
"""The labelled corpus of messy free-text comments: ``python -m bench.privacy_corpus``.

Written for this project: hand-written CX comments (English, Spanish, Chinese, Vietnamese,
Arabic) and templates, filled deterministically (seed below) with identifiers of every
family of PRIVACY.md in many spellings: the person's name (plain, glued, handle, spaced,
leetspeak, Cyrillic look-alikes), relatives' and employers' names, SSN, phone, ZIP, date
of birth, account/claim/case/plate numbers, e-mail (plain, at/dot words, defanged,
fullwidth at), URLs with a name in the query, IPs, street and box addresses, base64/hex.
An identifier is marked ``{{text|kind}}`` in the source; the generated file holds the
clean text, the labelled spans (character offsets in the text) and the person whose
values the scrubber may use. All names, numbers and places are invented.
"""

from __future__ import annotations

import base64
import json
import random
import re
from pathlib import Path
from typing import Any, Final

CORPUS: Final = Path(__file__).parent / "data" / "privacy-corpus.jsonl"
SEED: Final = 1616

FIRST = [
    "Zoe",
    "Marcus",
    "Aaliyah",
    "Tomasz",
    "Priya",
    "Dmitri",
    "Keisha",
    "Hector",
    "Mei",
    "Thanh",
    "Fatima",
    "Oluwaseun",
    "Bridget",
    "Ezekiel",
    "Xiomara",
    "Ruben",
    "Ingrid",
]
LAST = [
    "Quintanilla",
    "Abernathy",
    "Okonkwo",
    "Wisniewski",
    "Raghunathan",
    "Volkov",
    "Thibodeaux",
    "Castellanos",
    "Zhao",
    "Nguyen",
    "Haddad",
    "Adeyemi",
    "Fitzgerald",
    "Lindqvist",
    "Barrientos",
    "Kowalczyk",
    "Delacroix",
]
RELATIVES = [
    "Emily",
    "Jaylen",
    "Sofia",
    "Brayden",
    "Lucia",
    "Kenji",
    "Imani",
    "Mateo",
    "Harper",
    "Yusuf",
    "Anneliese",
    "Dashawn",
    "Camila",
    "Rashid",
    "Genevieve",
]
EMPLOYERS = [
    "Kroger",
    "Tyson Foods",
    "Dollar General",
    "Acme Plumbing",
    "Piedmont Health",
    "Hallmark Logistics",
    "Marriott",
    "Sunbelt Rentals",
    "Bluewater Seafood",
    "Conagra",
    "Riverside Diner",
]
STREETS = [
    "Larkspur Crescent",
    "Maple Avenue",
    "Old Mill Road",
    "Sunset Strip",
    "Cypress Bend",
    "Quail Hollow Lane",
    "Harbor View Drive",
    "Juniper Court",
]
CITIES = ["Tallahassee", "Boise", "Duluth", "Yakima", "Macon", "Pueblo", "Bangor", "Laredo"]
RELATIONS = [
    "daughter",
    "son",
    "husband",
    "wife",
    "mother",
    "brother",
    "sister",
    "grandson",
    "niece",
    "caseworker",
]

# Safe CX sentences (no identifier): the precision side of the measure.
SAFE = [
    "I waited on hold for almost two hours and nobody answered.",
    "The website kept logging me out before I could upload my documents.",
    "The clerk at the office was very helpful and explained everything.",
    "I was sent to three different offices for the same form.",
    "My application was denied and the letter did not say why.",
    "The online form is confusing and the instructions are unclear.",
    "It worked in the end but took longer than I expected.",
    "Nobody called me back after my appointment was cancelled.",
    "The interview was quick and the staff were polite.",
    "I had to mail the same paperwork twice because they lost it.",
    "The chat assistant could not answer a simple question.",
    "Thank you for the fast approval, it really helped my family.",
    "The office closed early and I had to come back the next week.",
    "I never received the card they promised in the mail.",
    "The phone menu sends you in circles and then hangs up.",
    "Please make the letters easier to read for older people.",
    "The renewal process was much easier this year.",
    "I could not find where to upload proof of income.",
    "The agent was rude and hung up on me.",
    "Everything was clear and I knew exactly what to bring.",
]
SAFE_ES = [
    "Esperé dos horas en la oficina y nadie me atendió.",
    "La página web no funciona y no puedo subir mis documentos.",
    "El personal fue muy amable y me explicó todo.",
    "Me negaron la solicitud sin decirme por qué.",
]
SAFE_OTHER = [
    "我在电话里等了两个小时，没有人接。",
    "网站一直出错，我无法上传文件。",
    "Tôi đã chờ hai tiếng mà không ai giúp.",
    "Trang web rất khó dùng.",
    "انتظرت ساعتين ولم يساعدني أحد.",
    "الموقع لا يعمل بشكل جيد.",
]

# Hand-written messy lines with marked identifiers ({{...|kind}}).
HAND = [
    "hi its {{jane.doe88 @ gmail dot com|email}} pls call back",
    "my ssn is {{１２３-４５-６７８９|ssn}} i think they typed it wrong",
    "call me at {{(850)\u2013555\u20130172|phone}} after 5",
    "born {{02APR1988|date}}, not 1989 like your system says",
    "DOB: {{April the 2nd 1988|date}}",
    "my birthday is {{4/2|date}} and they sent the letter to the wrong person",
    "生日是{{1988年4月2日|date}}，请更正。",
    "send it to {{P.O. Box 4471|address}} not my old place",
    "I moved to {{77 Sunset Strip|address}} last month",
    "my claim number is {{CLM-2024-00981|number}}",
    "case {{A7734-QX|number}} has been open forever",
    "the plate on my car is {{7ABC123|number}} and they towed it",
    "account {{٨٨٢١٣٩٤٧|number}} was frozen",
    "ssn {{one two three four five six seven eight nine|ssn}}",
    "my zip is {{9 0 2 1 0|zip}} not what you have",
    "email me {{r.okonkwo [at] example [dot] org|email}}",
    "profile {{hxxp://example[.]com/u?name=aaliyah|url}}",
    "my ip was {{10[.]0[.]0[.]12|ip}} when it crashed",
    "my id encoded {{MTIzLTQ1LTY3ODk=|encoded}} lol",
    "hex {{3132332d34352d36373839|encoded}}",
    "my son {{Brayden|relative}} needs his card",
    "my wife {{lucia|relative}} applied too",
    "I work at {{Kroger|employer}} and they cut my hours",
    "mi hija {{Camila|relative}} necesita su tarjeta",
    "llámame al {{305 555 0188|phone}} por favor",
    "vivo en {{Calle Ocho 1520|address}} en Miami",
    "我的电话是{{650-555-0123|phone}}",
    "số điện thoại của tôi là {{0912 345 678|phone}}",
    "رقمي هو {{٠١٢٣٤٥٦٧٨٩|phone}}",
    "my number is {{2\u200b0\u200b2\u200b5\u200b5\u200b5\u200b0\u200b1\u200b4\u200b3|phone}}",
    "ssn {{123\u00ad45\u00ad6789|ssn}} soft hyphens lol",
    "{{𝟏𝟐𝟑𝟒𝟓|zip}} is my zip",
    "ssn {{१२३४५६७८९|ssn}}",
    "ssn {{¹²³⁴⁵⁶⁷⁸⁹|ssn}}",
    "born {{2-Apr-1988|date}}",
    "born {{1988-04-02|date}}",
    "phone {{+1 (202) 555-0143 ext. 12|phone}}",
    "apt {{4B|address}} at {{4821 Larkspur Crescent|address}}",
    "my boss at {{Tyson Foods|employer}} wont sign the form",
    "mail {{rashid＠correo.example|email}}",
    "my kids name is {{hope|relative}} and she needs a card",
    "I work at {{walmart|employer}} on weekends so I cant come in",
    "we live in {{chicago|address}} now",
    "{{Hope|relative}} called me yesterday about the letter",
    "my pin is {{four four one two|number}}",
    "ssn {{two hundred nineteen, oh nine, nine nine nine nine|ssn}}",
    "se llama {{Guadalupe|relative}} y es mi hija",
    "a lady called {{Rosa|relative}} helped me",
    "my neighbor {{Dwayne|relative}} drove me there",
    "I moved to {{Boise|address}} in the spring",
    "the agent {{Mrs. Petrakis|name}} was great",
    "text me at {{eight five zero, five five five, zero one seven two|phone}}",
    "my email is {{z.q.1990 at gmail dot com|email}}",
    "ip {{192.168.001.020|ip}} was blocked",
    "born on the {{2nd of April|date}}",
    "DOB {{04.02.88|date}}",
    "DOB {{4 2 1988|date}}",
    "i'm {{j a n e|name}} from the office",
    "account {{x-4471-bb|number}} is locked",
    "my license plate {{ABC 1234|number}} was towed",
]

# Templates: {X} is filled from the person or the pools; each insertion is labelled.
TEMPLATES = [
    ("This is {name}. {safe}", "name"),
    ("{safe} Thanks, {name}", "name"),
    ("{safe} - {glued}", "name"),
    ("{safe} my handle is {handle}", "name"),
    ("signed {spaced}. {safe}", "name"),
    ("{leet} here. {safe}", "name"),
    ("{cyrillic} wrote this. {safe}", "name"),
    ("{safe} My {relation} {relative} was with me.", "relative"),
    ("{safe} I work at {employer} so I can only come after six.", "employer"),
    ("{safe} My SSN is {ssn}.", "ssn"),
    ("{safe} call me at {phone}", "phone"),
    ("{safe} I was born {dob}.", "date"),
    ("{safe} I live at {street}.", "address"),
    ("{safe} I live in {city} {zip}.", "address"),
    ("{safe} my account number is {account}", "number"),
    ("{safe} write to {email}", "email"),
    ("{safe} see {url}", "url"),
    ("{safe_es} Me llamo {name}.", "name"),
    ("{safe_other} {phone}", "phone"),
    ("{safe_other} {name}", "name"),
]

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIGIT_BASES = (0x30, 0xFF10, 0x660, 0x966, 0x1D7CE)
_CYRILLIC = str.maketrans("aceopxAEHOPCTMK", "\u0430\u0441\u0435\u043e\u0440\u0445\u0410\u0415"
                          "\u041d\u041e\u0420\u0421\u0422\u041c\u041a")  # fmt: skip


def _digits(rng: random.Random, digits: str, groups: tuple[int, ...]) -> str:
    base = rng.choice(_DIGIT_BASES)
    chars = [chr(base + int(d)) for d in digits]
    sep = rng.choice([" ", "-", "_", ".", "\u2013", "\u2212", ":", "", "\u200b", " / "])
    out, at = [], 0
    for size in groups:
        out.append("".join(chars[at : at + size]))
        at += size
    return sep.join(out)


def _person(rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    ssn = f"{rng.randint(100, 665)}{rng.randint(10, 99)}{rng.randint(1000, 9999)}"
    phone = f"{rng.randint(201, 989)}555{rng.randint(1000, 9999)}"
    zip5 = f"{rng.randint(10000, 99899)}"
    dob = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    street = f"{rng.randint(10, 9999)} {rng.choice(STREETS)}"
    return {"first_name": first, "last_name": last, "ssn": ssn, "phone": phone, "zip": zip5,
            "date_of_birth": dob, "street_address": street, "city": rng.choice(CITIES),
            "email": f"{first}.{last}{rng.randint(10, 99)}@example.com".lower(),
            "account_number": f"ACCT-{rng.randint(1000000, 9999999)}"}  # fmt: skip


def _fill(rng: random.Random, person: dict[str, Any]) -> dict[str, str]:
    first, last = person["first_name"], person["last_name"]
    year, month, day = person["date_of_birth"].split("-")
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]  # fmt: skip
    mon = months[int(month) - 1]
    email_user = person["email"].split("@")[0]
    return {
        "name": rng.choice([f"{first} {last}", first, last, f"{first.upper()} {last.upper()}"]),
        "glued": f"{first}{last}{rng.randint(1, 99)}".lower(),
        "handle": rng.choice(
            [f"{first[0]}.{last}", f"{first[0]}{last}", f"{last}{first[0]}"]
        ).lower(),
        "spaced": " ".join(first.upper()),
        "leet": first.lower().translate(str.maketrans("aeiost", "431057")),
        "cyrillic": f"{first} {last}".translate(_CYRILLIC),
        "relation": rng.choice(RELATIONS),
        "relative": rng.choice(RELATIVES),
        "employer": rng.choice(EMPLOYERS),
        "ssn": rng.choice(
            [
                _digits(rng, person["ssn"], (3, 2, 4)),
                " ".join(
                    [
                        [
                            "zero",
                            "one",
                            "two",
                            "three",
                            "four",
                            "five",
                            "six",
                            "seven",
                            "eight",
                            "nine",
                        ][int(d)]
                        for d in person["ssn"]
                    ]
                ),
            ]
        ),
        "phone": rng.choice(
            [
                _digits(rng, person["phone"], (3, 3, 4)),
                f"({person['phone'][:3]}) {person['phone'][3:6]}-{person['phone'][6:]}",
                f"+1 {person['phone'][:3]}.{person['phone'][3:6]}.{person['phone'][6:]}",
            ]
        ),
        "dob": rng.choice(
            [
                f"{int(month)}/{int(day)}/{year}",
                f"{day}{mon[:3].upper()}{year}",
                f"{int(day)}-{mon[:3]}-{year}",
                f"{mon} the {int(day)}th {year}",
                f"{year}年{int(month)}月{int(day)}日",
                person["date_of_birth"],
                f"{mon} {int(day)}, {year}",
            ]
        ),
        "street": person["street_address"],
        "city": person["city"],
        "zip": _digits(rng, person["zip"], (5,)),
        "account": rng.choice(
            [person["account_number"], base64.b64encode(person["account_number"].encode()).decode()]
        ),
        "email": rng.choice(
            [
                person["email"],
                f"{email_user} at example dot com",
                f"{email_user} [at] example [dot] com",
                f"{email_user} @ example.com",
                f"{email_user}\uff20example.com",
            ]
        ),
        "url": f"https://portal.example.gov/status?name={first.lower()}&dob={year}",
    }


_MARK: Final = re.compile(r"\{\{(.+?)\|(\w+)\}\}")


def _unmark(source: str) -> tuple[str, list[list[Any]]]:
    spans: list[list[Any]] = []
    out: list[str] = []
    position = 0
    length = 0
    for match in _MARK.finditer(source):
        out.append(source[position : match.start()])
        length += match.start() - position
        out.append(match.group(1))
        spans.append([length, length + len(match.group(1)), match.group(2)])
        length += len(match.group(1))
        position = match.end()
    out.append(source[position:])
    return "".join(out), spans


def build(size: int = 560) -> list[dict[str, Any]]:
    """The corpus: every hand-written line, every safe line alone, then templates."""
    rng = random.Random(SEED)
    items: list[dict[str, Any]] = []
    for line in HAND:
        text, spans = _unmark(line)
        items.append({"text": text, "spans": spans, "person": _person(rng), "source": "hand"})
    for line in (*SAFE, *SAFE_ES, *SAFE_OTHER):
        items.append({"text": line, "spans": [], "person": _person(rng), "source": "safe"})
    while len(items) < size:
        template, kind = rng.choice(TEMPLATES)
        person = _person(rng)
        values = _fill(rng, person)
        source = template
        for key, value in values.items():
            if key == "relation":
                source = source.replace("{relation}", value)
            else:
                source = source.replace(
                    "{" + key + "}", "{{" + value.replace("|", "/") + "|" + kind + "}}"
                )
        source = source.replace("{safe}", rng.choice(SAFE)).replace(
            "{safe_es}", rng.choice(SAFE_ES)
        )
        source = source.replace("{safe_other}", rng.choice(SAFE_OTHER))
        text, spans = _unmark(source)
        items.append({"text": text, "spans": spans, "person": person, "source": "template"})
    return items


def main() -> None:
    """Write the corpus file (deterministic)."""
    CORPUS.parent.mkdir(exist_ok=True)
    with CORPUS.open("w", encoding="utf-8") as out:
        for item in build():
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"wrote {CORPUS}")


if __name__ == "__main__":
    main()
