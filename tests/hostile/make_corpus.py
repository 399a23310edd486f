"""Write the hostile-input corpus (``cases/*.json``): ``python -m tests.hostile.make_corpus``.

Deterministic: fixed event ids, fixed journey tokens and the corpus TEST keys of
:mod:`tests.hostile.corpus` (Ed25519 signatures are deterministic), so re-running it
rewrites byte-identical files. Run it once after changing a case and commit the result.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from contracts.catalog import load_catalog
from contracts.envelope import (
    HEADER_CONTENT_TYPE,
    HEADER_DATASCHEMA,
    HEADER_ID,
    HEADER_KEYID,
    HEADER_LIFEEXP,
    HEADER_SIG,
    HEADER_SOURCE,
    HEADER_SPECVERSION,
    HEADER_TIME,
    HEADER_TYPE,
    Record,
    encode_unsigned,
    with_signature,
)
from contracts.events import CxEvent
from contracts.privacy import journey_token_from_digest
from contracts.signing import signing_input
from tests.hostile.corpus import CASES_DIR, corpus_key_id, corpus_private_key
from tests.hostile.pii_cases import pii_cases
from tests.support.journeys import T0, make_event

__all__ = ["build_cases", "main"]

AGENCY = "ssa"
OTHER = "cms"  # a participant of the same life experience
Headers = list[tuple[str, bytes | None]]


def _token(label: str) -> str:
    return journey_token_from_digest(hashlib.sha256(b"hostile-corpus:" + label.encode()).digest())


def _event(n: int, *, agency: str = AGENCY, **fields: Any) -> CxEvent:
    service = {"ssa": "ssa.enumeration-at-birth", "cms": "cms.medicaid-enrollment"}[agency]
    stage = load_catalog().service(service).stages[0].value
    return make_event(
        "interaction",
        agency=agency,
        service_id=service,
        life_experience="having-a-child",
        journey_token=_token(f"journey-{n}"),
        at=T0 + timedelta(hours=n),
        event_id=UUID(int=0xC0FFEE_0000 + n, version=4),
        stage=stage,
        **fields,
    )


def _sign(record: Record, agency: str = AGENCY, key_id: str | None = None) -> Record:
    """Sign with the corpus test key of ``agency`` (no ce_source check: hostile on purpose)."""
    kid = key_id or corpus_key_id(agency)
    signature = corpus_private_key(agency).sign(signing_input(record, key_id=kid))
    return with_signature(record, kid, signature)


def _set(headers: Headers, name: str, value: bytes | None) -> Headers:
    return [(n, value if n == name else v) for n, v in headers]


def _drop(headers: Headers, name: str) -> Headers:
    return [(n, v) for n, v in headers if n != name]


def _unsigned(n: int, **fields: Any) -> Record:
    return encode_unsigned(_event(n, **fields))


def _resigned_value(n: int, mutate: Callable[[bytes], bytes]) -> Record:
    """Event ``n`` whose value is replaced by ``mutate(value)``, validly signed."""
    base = _unsigned(n)
    return _sign(Record(base.key, mutate(base.value), base.headers))


def _resigned_headers(n: int, mutate: Callable[[Headers], Headers]) -> Record:
    """Event ``n`` whose unsigned headers are replaced by ``mutate``, validly signed."""
    base = _unsigned(n)
    headers = mutate(list(base.headers))
    return _sign(Record(base.key, base.value, tuple((k, v or b"") for k, v in headers)))


def _payload(n: int, change: Callable[[dict[str, Any]], None]) -> bytes:
    data = json.loads(_unsigned(n).value)
    change(data)
    return json.dumps(data, separators=(",", ":")).encode()


def _case(
    name: str,
    description: str,
    expected: str,
    record: Record | tuple[bytes | None, bytes | None, Headers],
    *,
    topic_agency: str | None = AGENCY,
    integration: bool = True,
    gap: str | None = None,
) -> dict[str, Any]:
    key: bytes | None
    value: bytes | None
    headers: Headers
    if isinstance(record, Record):
        key, value, headers = record.key, record.value, list(record.headers)
    else:
        key, value, headers = record

    def enc(data: bytes | None) -> str | None:
        return None if data is None else base64.b64encode(data).decode("ascii")

    return {
        "name": name,
        "description": description,
        "topic_agency": topic_agency,
        "key": enc(key),
        "value": enc(value),
        "headers": [[n, enc(v)] for n, v in headers],
        "expected": expected,
        "integration": integration,
        "gap": gap,
    }


def _time_shifted(n: int, at: datetime) -> Record:
    return _sign(encode_unsigned(_event(n).model_copy(update={"occurred_at": at})))


def build_cases() -> list[dict[str, Any]]:
    """Every corpus case, as the JSON-ready dicts written to ``cases/``."""
    good = _sign(_unsigned(1))
    base = _unsigned(2)
    signed2 = _sign(base)
    cases = [
        _case("valid-baseline", "a valid signed event (the control)", "accepted", good),
        _case(
            "replayed-event-id",
            "byte-identical replay of valid-baseline: deduplicated by event id, not dead-lettered",
            "duplicate",
            good,
        ),
        # ---- JSON shape
        _case(
            "truncated-json",
            "value cut in half",
            "malformed-json",
            _resigned_value(3, lambda v: v[: len(v) // 2]),
        ),
        _case(
            "empty-value", "zero-byte value", "malformed-json", _resigned_value(4, lambda v: b"")
        ),
        _case(
            "null-value",
            "tombstone (no value), signature over the empty value",
            "malformed-json",
            (_unsigned(5).key, None, list(_resigned_value(5, lambda v: b"").headers)),
        ),
        _case("not-json", "plain text", "malformed-json", _resigned_value(6, lambda v: b"hello")),
        _case(
            "json-array",
            "a JSON array instead of an object",
            "contract-violation",
            _resigned_value(7, lambda v: b"[" + v + b"]"),
        ),
        _case(
            "duplicate-json-key",
            "attempt twice in the object",
            "malformed-json",
            _resigned_value(8, lambda v: v[:-1] + b',"attempt":2}'),
        ),
        _case(
            "nan-number",
            "wait_seconds is NaN",
            "malformed-json",
            _resigned_value(9, lambda v: v.replace(b'"wait_seconds":30.0', b'"wait_seconds":NaN')),
        ),
        _case(
            "invalid-utf8-value",
            "a 0xff byte inside a JSON string",
            "malformed-json",
            _resigned_value(10, lambda v: v.replace(b'"web"', b'"w\xffb"')),
        ),
        _case(
            "huge-integer",
            "attempt is a 5000-digit integer (Python's int parsing limit is 4300 digits)",
            "malformed-json",
            _resigned_value(11, lambda v: v.replace(b'"attempt":1', b'"attempt":' + b"9" * 5000)),
        ),
        _case(
            "deep-nesting",
            "an extra field holding 100000 nested arrays",
            "malformed-json",
            _resigned_value(
                12, lambda v: v[:-1] + b',"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
            ),
        ),
        _case(
            "moderate-nesting",
            "an extra field holding 500 nested arrays (parses; the contract refuses it)",
            "contract-violation",
            _resigned_value(13, lambda v: v[:-1] + b',"x":' + b"[" * 500 + b"]" * 500 + b"}"),
        ),
        # ---- contract
        _case(
            "wrong-type-int-as-string",
            'attempt is the string "1"',
            "contract-violation",
            _resigned_value(14, lambda v: v.replace(b'"attempt":1', b'"attempt":"1"')),
        ),
        _case(
            "wrong-type-number-as-bool",
            "wait_seconds is true",
            "contract-violation",
            _resigned_value(
                15, lambda v: v.replace(b'"wait_seconds":30.0', b'"wait_seconds":true')
            ),
        ),
        _case(
            "extra-field",
            "a field the contract does not have",
            "contract-violation",
            _resigned_value(16, lambda v: _payload(16, lambda d: d.update(unexpected_field="x"))),
        ),
        _case(
            "missing-field",
            "outcome removed",
            "contract-violation",
            _resigned_value(17, lambda v: _payload(17, lambda d: d.pop("outcome"))),
        ),
        _case(
            "huge-string-value",
            "a 300 kB service_id",
            "contract-violation",
            _resigned_value(
                18, lambda v: _payload(18, lambda d: d.update(service_id="s" * 300_000))
            ),
        ),
        _case(
            "control-chars-in-payload",
            "NUL and ESC inside service_id",
            "contract-violation",
            _resigned_value(
                19,
                lambda v: _payload(19, lambda d: d.update(service_id=d["service_id"] + "\x00\x1b")),
            ),
        ),
        _case(
            "naive-timestamp",
            "occurred_at without an offset (payload only)",
            "contract-violation",
            _resigned_value(
                20, lambda v: _payload(20, lambda d: d.update(occurred_at="2026-03-02T21:00:00"))
            ),
        ),
        _case(
            "unknown-life-experience",
            "life_experience (payload and ce_cxlifeexp) not in the catalog",
            "contract-violation",
            Record(
                *_replace_value_and_resign(21, "life_experience", "moving-abroad", HEADER_LIFEEXP)
            ),
        ),
        _case(
            "unknown-agency",
            "agency (payload and ce_source) not in the catalog, signed by the topic's agency",
            "contract-violation",
            Record(
                *_replace_value_and_resign(22, "agency", "nasa", HEADER_SOURCE, b"urn:cx:agency:")
            ),
        ),
        _case(
            "service-of-other-agency",
            "service_id of another agency",
            "contract-violation",
            _resigned_value(
                23, lambda v: _payload(23, lambda d: d.update(service_id="cms.medicaid-enrollment"))
            ),
        ),
        # ---- timestamps
        _case(
            "far-future-timestamp",
            "occurred_at in the year 2999",
            "time-out-of-range",
            _time_shifted(24, datetime(2999, 1, 1, tzinfo=UTC)),
        ),
        _case(
            "far-past-timestamp",
            "occurred_at in the year 1900",
            "time-out-of-range",
            _time_shifted(25, datetime(1900, 1, 1, tzinfo=UTC)),
        ),
        # ---- headers
        _case(
            "missing-ce-type",
            "ce_type absent",
            "missing-header",
            (base.key, base.value, _drop(list(signed2.headers), HEADER_TYPE)),
        ),
        _case(
            "missing-content-type",
            "content-type absent",
            "missing-header",
            (base.key, base.value, _drop(list(signed2.headers), HEADER_CONTENT_TYPE)),
        ),
        _case(
            "duplicate-ce-id",
            "ce_id twice (same value)",
            "duplicate-header",
            (
                base.key,
                base.value,
                [
                    *signed2.headers[:2],
                    (HEADER_ID, signed2.header(HEADER_ID)),
                    *signed2.headers[2:],
                ],
            ),
        ),
        _case(
            "duplicate-content-type",
            "content-type twice",
            "duplicate-header",
            (
                base.key,
                base.value,
                [*signed2.headers, (HEADER_CONTENT_TYPE, b"application/json")],
            ),
        ),
        _case(
            "unexpected-ce-header",
            "a ce_ header outside the fixed set (signed)",
            "unexpected-header",
            (base.key, base.value, [*signed2.headers, ("ce_subject", b"x")]),
        ),
        _case(
            "wrong-specversion",
            "ce_specversion 0.3",
            "bad-specversion",
            _resigned_headers(26, lambda h: _set(h, HEADER_SPECVERSION, b"0.3")),
        ),
        _case(
            "wrong-content-type",
            "content-type text/plain",
            "bad-content-type",
            _resigned_headers(27, lambda h: _set(h, HEADER_CONTENT_TYPE, b"text/plain")),
        ),
        _case(
            "future-major-version",
            "ce_type v2 and ce_dataschema 2.0.0 of a known contract",
            "unknown-major-version",
            _resigned_headers(
                28,
                lambda h: _set(
                    _set(h, HEADER_TYPE, b"gov.cx.service-interaction.v2"),
                    HEADER_DATASCHEMA,
                    b"urn:cx:contract:service-interaction:2.0.0",
                ),
            ),
        ),
        _case(
            "unknown-contract",
            "a contract name nobody registered",
            "unknown-contract",
            _resigned_headers(
                29,
                lambda h: _set(
                    _set(h, HEADER_TYPE, b"gov.cx.tax-return.v1"),
                    HEADER_DATASCHEMA,
                    b"urn:cx:contract:tax-return:1.0.0",
                ),
            ),
        ),
        _case(
            "type-dataschema-disagree",
            "ce_type names another contract than ce_dataschema",
            "header-mismatch",
            _resigned_headers(30, lambda h: _set(h, HEADER_TYPE, b"gov.cx.feedback.v1")),
        ),
        _case(
            "malformed-ce-type",
            "ce_type is free text",
            "malformed-header",
            _resigned_headers(31, lambda h: _set(h, HEADER_TYPE, b"service interaction")),
        ),
        _case(
            "malformed-ce-time",
            "ce_time is not RFC 3339",
            "malformed-header",
            _resigned_headers(32, lambda h: _set(h, HEADER_TIME, b"yesterday")),
        ),
        _case(
            "ce-time-disagrees",
            "ce_time one hour off the payload",
            "header-mismatch",
            _resigned_headers(33, lambda h: _set(h, HEADER_TIME, b"2026-03-02T00:00:00Z")),
        ),
        _case(
            "ce-id-disagrees",
            "ce_id is another uuid",
            "header-mismatch",
            _resigned_headers(
                34, lambda h: _set(h, HEADER_ID, b"00000000-0000-4000-8000-000000000000")
            ),
        ),
        _case(
            "invalid-utf8-header",
            "ce_cxlifeexp holds 0xff 0xfe (signed)",
            "bad-header-encoding",
            _resigned_headers(35, lambda h: _set(h, HEADER_LIFEEXP, b"\xff\xfe")),
        ),
        _case(
            "nul-byte-in-header",
            "a NUL byte appended to ce_id (signed)",
            "header-mismatch",
            _resigned_headers(36, lambda h: _set(h, HEADER_ID, h[1][1] + b"\x00")),  # type: ignore[operator]
        ),
        _case(
            "crlf-injection-ce-source",
            "CR/LF and a forged header line inside ce_source (signed)",
            "header-mismatch",
            _resigned_headers(
                37, lambda h: _set(h, HEADER_SOURCE, b"urn:cx:agency:ssa\r\nce_cxsig: AAAA")
            ),
        ),
        _case(
            "crlf-injection-key-id",
            "CR/LF inside ce_cxkeyid",
            "unknown-key-id",
            (base.key, base.value, _set(list(signed2.headers), HEADER_KEYID, b"ssa-sig\r\nx: y")),
        ),
        _case(
            "null-header-value",
            "an unrelated header with a null value",
            "bad-header-encoding",
            (base.key, base.value, [*signed2.headers, ("x-trace", None)]),
            integration=False,
        ),
        # ---- signature
        _case(
            "missing-signature",
            "ce_cxsig absent",
            "missing-signature",
            (base.key, base.value, _drop(list(signed2.headers), HEADER_SIG)),
        ),
        _case(
            "missing-key-id",
            "ce_cxkeyid absent",
            "missing-signature",
            (base.key, base.value, _drop(list(signed2.headers), HEADER_KEYID)),
        ),
        _case(
            "signature-not-base64",
            "ce_cxsig is not base64",
            "bad-signature-encoding",
            (base.key, base.value, _set(list(signed2.headers), HEADER_SIG, b"!!not base64!!")),
        ),
        _case(
            "signature-with-newline",
            "ce_cxsig with a CR/LF inside",
            "bad-signature-encoding",
            (
                base.key,
                base.value,
                _set(list(signed2.headers), HEADER_SIG, signed2.header(HEADER_SIG)[:20] + b"\r\n"),  # type: ignore[index]
            ),
        ),
        _case(
            "signature-too-short",
            "ce_cxsig is base64 of 10 bytes",
            "bad-signature",
            (
                base.key,
                base.value,
                _set(list(signed2.headers), HEADER_SIG, base64.b64encode(b"0" * 10)),
            ),
        ),
        _case(
            "signature-over-other-bytes",
            "a valid signature of another record",
            "bad-signature",
            (
                base.key,
                base.value,
                _set(list(signed2.headers), HEADER_SIG, good.header(HEADER_SIG)),
            ),
        ),
        _case(
            "value-changed-after-signing",
            "attempt changed after signing",
            "bad-signature",
            (base.key, base.value.replace(b'"attempt":1', b'"attempt":2'), list(signed2.headers)),
        ),
        _case(
            "header-changed-after-signing",
            "ce_time changed after signing",
            "bad-signature",
            (
                base.key,
                base.value,
                _set(list(signed2.headers), HEADER_TIME, b"2026-03-02T12:00:00Z"),
            ),
        ),
        _case(
            "key-changed-after-signing",
            "the Kafka key swapped for another token after signing",
            "bad-signature",
            (_token("other").encode(), base.value, list(signed2.headers)),
        ),
        _case(
            "unknown-key-id",
            "ce_cxkeyid names no key",
            "unknown-key-id",
            (
                base.key,
                base.value,
                _set(list(signed2.headers), HEADER_KEYID, b"ssa-sig-20200101-9"),
            ),
        ),
        _case(
            "other-agencys-key",
            "an ssa event on ssa's topic signed with cms's key",
            "key-agency-mismatch",
            _sign(_unsigned(38), OTHER),
        ),
        _case(
            "wrong-agency-topic",
            "a valid ssa event (ssa's key) on cms's topic",
            "key-agency-mismatch",
            _sign(_unsigned(39)),
            topic_agency=OTHER,
        ),
        _case(
            "event-of-other-agency",
            "a valid ssa event signed with cms's key on cms's topic",
            "agency-topic-mismatch",
            _sign(_unsigned(40), OTHER),
            topic_agency=OTHER,
        ),
        _case(
            "not-an-agency-topic",
            "a valid event read from a topic that is no agency topic",
            "unknown-agency-topic",
            _sign(_unsigned(41)),
            topic_agency=None,
            integration=False,
        ),
        # ---- the Kafka key
        _case(
            "key-mismatch",
            "the key is another journey's token (signed)",
            "key-mismatch",
            _sign(Record(_token("another").encode(), base.value, base.headers)),
        ),
        _case(
            "null-key",
            "no key (signature over the empty key)",
            "key-mismatch",
            (None, base.value, list(_sign(Record(b"", base.value, base.headers)).headers)),
        ),
        _case(
            "non-ascii-key",
            "a key of invalid UTF-8 bytes (signed)",
            "key-mismatch",
            _sign(Record(b"\xff\xfe\x00key", base.value, base.headers)),
        ),
    ]
    return [*cases, *pii_cases(_case, _sign, first=100)]


def _replace_value_and_resign(
    n: int, field: str, replacement: str, header: str, header_prefix: bytes = b""
) -> tuple[bytes, bytes, tuple[tuple[str, bytes], ...]]:
    """Event ``n`` with ``field`` and its header copy set to ``replacement``, signed by
    the topic's agency (so only the contract can refuse it)."""
    unsigned = _unsigned(n)
    value = _payload(n, lambda d: d.update({field: replacement}))
    headers = tuple(
        (k, header_prefix + replacement.encode() if k == header else v) for k, v in unsigned.headers
    )
    signed = _sign(Record(unsigned.key, value, headers))
    return signed.key, signed.value, signed.headers


_README_HEAD = """# Hostile-input corpus

One JSON file per case under `cases/` (format: `corpus.py`), written by
`python -m tests.hostile.make_corpus` from fixed event ids, fixed journey tokens and
deterministic **TEST** signing keys derived from the public seed in `corpus.py` (they sign
nothing but this corpus). This file is generated too.

`tests/unit/test_hostile_corpus.py` runs every case through
`consumers.joiner.validate.check_record`; `tests/integration/test_reliability_hostile.py`
produces the cases marked *kafka* interleaved with good events and checks each lands in
the dead-letter topic with its reason and unchanged value, while the good events are joined.

Expected `accepted`: joined. Expected `duplicate`: a replay of an accepted event id, dropped
by the joiner's dedup (counted in `duplicates`), **not** dead-lettered. A *gap* is what the
joiner does today instead of the expectation (strict xfail in the tests).

| # | case | topic | expected | kafka | description | gap |
|---|---|---|---|---|---|---|
"""


def readme(cases: list[dict[str, Any]]) -> str:
    """The README table of ``cases``."""
    rows = [
        f"| {n} | `{c['name']}` | {c['topic_agency'] or '(none)'} | `{c['expected']}` | "
        f"{'yes' if c['integration'] else 'no'} | {c['description']} | {c['gap'] or ''} |"
        for n, c in enumerate(cases, start=1)
    ]
    return _README_HEAD + "\n".join(rows) + "\n"


def main(directory: Path = CASES_DIR) -> None:
    """Rewrite every case file of ``directory`` and the README next to it."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    cases = build_cases()
    for number, case in enumerate(cases, start=1):
        path = directory / f"{number:02d}-{case['name']}.json"
        path.write_text(json.dumps(case, indent=1, sort_keys=True) + "\n")
    (directory.parent / "README.md").write_text(readme(cases))
    print(f"wrote {len(cases)} cases to {directory}")


if __name__ == "__main__":
    main()
