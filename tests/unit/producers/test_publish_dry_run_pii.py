"""``cxbroker publish --dry-run`` with hostile feedback comments (#16): whatever the
spelling, no identifier reaches the output or the rejects file, and the events that pass
carry none in their free text (checked on the prepared bytes in canonical form)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from broker.keyring import Keyring
from contracts.pii import canonical, skeleton
from cxbroker.commands.publish import publish
from producers import RawRecord
from producers.errors import PiiLeak
from producers.publisher import EventPreparer
from tests.support.files import AGENCY, LIFE_EXPERIENCES, PEOPLE, event_id, identifier_values
from tests.support.keyrings import keyring_for

COMMENTS = [
    "my ssn is \uff12\uff11\uff19-\uff10\uff19-\uff19\uff19\uff19\uff19",
    "ssn two one nine, zero nine, nine nine nine nine",
    "call \u0663\u0660\u0661 \u0665\u0665\u0665 \u0660\u0661\u0660\u0660",
    "this is T h a d d e u s, w r e x h a m",
    "thaddeuswrexham58 on the portal",
    "Th\u0430dd\u0435us (Cyrillic a and e) wrote this",
    "7h4dd3u5 here",
    "write thaddeus dot 0 at example dot org",
    "I live at 100 Quillfeather Lane, Brackenridge 2\u200b0\u200b8\u200b1\u200b5",
    "born 02MAR1958",
    "born March the 2nd 1958",
    "my account RET-77310000 is locked",
    "id MjE5LTA5LTk5OTk=",
    "my daughter Ysolde Wrexham-Oduya helped, she works at Quillfeather Bakery",
]


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return keyring_for(tmp_path_factory.mktemp("dry") / "keyring", [AGENCY], LIFE_EXPERIENCES)


def _row(line: int, comment: str) -> dict[str, Any]:
    return {
        **PEOPLE[0],
        "event_id": event_id(1000 + line),
        "agency": AGENCY,
        "life_experience": "having-a-child",
        "kind": "feedback",
        "occurred_at": "2026-04-03T14:30:00Z",
        "service_id": "ssa.enumeration-at-birth",
        "channel": "web",
        "satisfaction": 3,
        "free_text": comment,
    }


def test_dry_run_output_and_rejects_hold_no_identifier(
    tmp_path: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps(_row(i, c)) for i, c in enumerate(COMMENTS)) + "\n")
    monkeypatch.setenv("CX_KEYRING_DIR", str(keyring.path))
    monkeypatch.setenv("CX_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(publish, ["--agency", AGENCY, "--file", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output  # every comment scrubbed, none refused
    rejects = path.with_name(path.name + ".rejects.jsonl")
    listed = rejects.read_bytes() if rejects.exists() else b""
    for value in identifier_values():
        assert value not in result.output.encode()
        assert value not in listed
    assert f"would publish {len(COMMENTS)}" in result.output


@pytest.mark.parametrize("comment", COMMENTS)
def test_each_prepared_event_is_refused_or_clean(keyring: Keyring, comment: str) -> None:
    raw = RawRecord(**_row(0, comment))
    try:
        prepared = EventPreparer(AGENCY, keyring).prepare(raw)
    except PiiLeak as exc:
        assert comment not in str(exc)
        return
    text = canonical(json.loads(prepared.record.value).get("comment") or "")
    assert not re.search(r"\d", text)
    for needle in ("THADDEUS", "WREXHAM", "ODUYA", "YSOLDE", "QUILLFEATHER", "BRACKENRIDGE"):
        assert needle not in skeleton(text).replace(" ", "")
