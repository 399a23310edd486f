"""Recall and precision of free-text scrubbing on the labelled corpus: ``python -m bench.privacy``.

The corpus (``bench/data/privacy-corpus.jsonl``, made by ``python -m bench.privacy_corpus``)
holds messy comments with labelled identifier spans and the person each is about. Every
comment is scrubbed with that person's values (as the publisher does) and measured:

* **recall, span level**: a labelled identifier is *caught* when none of its tokens (a run
  of letters or digits of its canonical form, two characters or more, or holding a digit)
  survives in the scrubbed text unless the same token also occurs outside identifiers in
  that comment, and its compact form (letters and digits only, four or more) is not in the
  compact scrubbed text either (spaced letters "J A N E");
* **precision, token level**: of the tokens the scrubber removed, the share that belonged
  to an identifier;
* **what precision costs**: the share of non-identifier tokens (safe words) removed, for
  all comments and for the English ones only.

It also times the scrubber per comment and the joiner's check per record (CPU time); no
figure is asserted anywhere.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from bench.privacy_corpus import CORPUS
from consumers.joiner.validate import check_record
from contracts.envelope import encode_unsigned
from contracts.pii import canonical
from contracts.pii.fields import free_text_findings
from contracts.registry import load_registry
from producers.deid.scrub import own_values, scrub_text
from tests.support.journeys import T0, make_event
from tests.support.keyrings import keyring_for

_TOKEN: Final = re.compile(r"[^\W_]+")
_PLACEHOLDER: Final = re.compile(r"\[[A-Z]+\]")


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(canonical(text))]


def _compact(text: str) -> str:
    return "".join(_tokens(text))


def _scrub(item: dict[str, Any]) -> str:
    person = item["person"]
    own = own_values(
        names=(person["first_name"], person["last_name"]),
        street_address=person["street_address"],
        city=person["city"],
        zip5=person["zip"],
        email=person["email"],
        account_number=person["account_number"],
        ssn=person["ssn"],
        phone=person["phone"],
        date_of_birth=date.fromisoformat(person["date_of_birth"]),
    )
    return scrub_text(item["text"], own)


def measure(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of the module docstring for ``items``."""
    spans_total = spans_caught = 0
    by_kind: Counter[str] = Counter()
    missed_kind: Counter[str] = Counter()
    removed_id = removed_safe = safe_total = 0
    removed_safe_en = safe_total_en = 0
    misses: list[str] = []
    started = time.process_time()
    outputs = [_scrub(item) for item in items]
    scrub_us = (time.process_time() - started) / len(items) * 1e6
    for item, out in zip(items, outputs, strict=True):
        text = item["text"]
        out_plain = _PLACEHOLDER.sub(" ", out)
        out_tokens = Counter(_tokens(out_plain))
        out_compact = _compact(out_plain)
        id_tokens: Counter[str] = Counter()
        safe_tokens: Counter[str] = Counter()
        position = 0
        for start, end, _ in sorted(item["spans"]):
            safe_tokens.update(_tokens(text[position:start]))
            id_tokens.update(_tokens(text[start:end]))
            position = max(position, end)
        safe_tokens.update(_tokens(text[position:]))
        for start, end, kind in item["spans"]:
            spans_total += 1
            by_kind[kind] += 1
            tokens = [t for t in _tokens(text[start:end]) if len(t) >= 2 or t.isdigit()]
            leaked = any(out_tokens[t] > safe_tokens[t] for t in tokens)
            compact = _compact(text[start:end])
            if (
                len(compact) >= 4
                and compact in out_compact
                and compact not in _compact(" ".join(safe_tokens))
            ):
                leaked = True
            if leaked:
                missed_kind[kind] += 1
                misses.append(f"{kind}: {text[start:end]!r} -> {out!r}")
            else:
                spans_caught += 1
        remaining = out_tokens.copy()
        for token, count in id_tokens.items():
            kept = min(count, remaining[token])
            remaining[token] -= kept
            removed_id += count - kept
        english = item["source"] != "safe" or item["text"].isascii()
        for token, count in safe_tokens.items():
            kept = min(count, remaining[token])
            remaining[token] -= kept
            safe_total += count
            removed_safe += count - kept
            if english and token.isascii():
                safe_total_en += count
                removed_safe_en += count - kept
    removed = removed_id + removed_safe
    return {
        "comments": len(items),
        "identifier_spans": spans_total,
        "recall": spans_caught / spans_total if spans_total else 1.0,
        "precision": removed_id / removed if removed else 1.0,
        "safe_tokens_removed": removed_safe / safe_total if safe_total else 0.0,
        "safe_ascii_tokens_removed": removed_safe_en / safe_total_en if safe_total_en else 0.0,
        "spans_by_kind": dict(by_kind),
        "missed_by_kind": dict(missed_kind),
        "misses": misses,
        "scrub_us_per_comment": scrub_us,
    }


def joiner_check_us(repeat: int = 2000) -> dict[str, float]:
    """CPU microseconds per record of the joiner's PII check (free-form fields of a decoded
    event), for an interaction event (no free text) and a feedback with a scrubbed comment."""
    common: dict[str, Any] = {
        "agency": "ssa",
        "service_id": "ssa.enumeration-at-birth",
        "life_experience": "having-a-child",
        "journey_token": "A" * 43,
        "at": T0,
    }
    comment = (
        "The clerk was helpful but I waited [NUMBER] hours on hold and the website kept "
        "logging me out."
    )
    events = {
        "interaction": make_event("interaction", event_id=UUID(int=1, version=4), **common),
        "feedback": make_event(
            "feedback", event_id=UUID(int=2, version=4), comment=comment, **common
        ),
    }
    figures = {}
    for name, event in events.items():
        free_text_findings(event)  # warm the per-class cache
        started = time.process_time()
        for _ in range(repeat):
            free_text_findings(event)
        figures[f"PII check, {name} event"] = (time.process_time() - started) / repeat * 1e6
    with tempfile.TemporaryDirectory() as directory:
        ring = keyring_for(Path(directory) / "ring", ["ssa"], ["having-a-child"])
        public, registry = ring.public_keyring(), load_registry()
        for name, event in events.items():
            record = ring.signer("ssa").sign(encode_unsigned(event))
            headers = list(record.headers)
            started = time.process_time()
            for _ in range(repeat // 4):
                check_record("ssa", record.key, record.value, headers, public, registry)
            figures[f"whole check_record, {name} event"] = (
                (time.process_time() - started) / (repeat // 4) * 1e6
            )
    return figures


#: Pathological comments of about 8 KB (the scrubber's input limit): hyphenated or dotted
#: runs that a regular expression could split in many ways before an "at" or "@".
HOSTILE_LONG: Final = {
    "a-a-...-a at x": "a-" * 4000 + "a at x",
    "a-a-... at gmailx": "a-" * 4000 + " at gmailx",
    "a-a-...-a@x": "a-" * 4000 + "a@x",
    "a.a.... com/x": "a." * 4000 + "com/x",
    "1.1.1....": "1." * 4000,
    "one -- one -- ...": "one -- " * 1150,
}


def hostile_long_s() -> dict[str, float]:
    """CPU seconds to scrub each pathological comment (catastrophic backtracking shows here)."""
    figures = {}
    for name, text in HOSTILE_LONG.items():
        started = time.process_time()
        scrub_text(text)
        figures[name] = time.process_time() - started
    return figures


def main() -> None:
    """Print the figures."""
    items = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line]
    figures = measure(items)
    print(f"corpus: {figures['comments']} comments, {figures['identifier_spans']} identifier spans")
    print(f"recall (span level):    {figures['recall']:.4f}")
    print(f"precision (token level): {figures['precision']:.4f}")
    print(f"safe tokens removed (all languages): {figures['safe_tokens_removed']:.1%}")
    print(f"safe tokens removed (ASCII tokens of English comments): "
          f"{figures['safe_ascii_tokens_removed']:.1%}")  # fmt: skip
    print("spans by kind:", json.dumps(figures["spans_by_kind"], sort_keys=True))
    print("missed by kind:", json.dumps(figures["missed_by_kind"], sort_keys=True))
    for miss in figures["misses"][:20]:
        print("  missed", miss)
    print(f"scrubber: {figures['scrub_us_per_comment']:.0f} us CPU per comment")
    for name, seconds in hostile_long_s().items():
        print(f"scrubber, 8 KB hostile comment {name!r}: {seconds:.3f} s CPU")
    for name, us in joiner_check_us().items():
        print(f"joiner {name}: {us:.1f} us CPU per record")


if __name__ == "__main__":
    main()
