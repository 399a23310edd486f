"""Every hostile-corpus case through the joiner's pure validation path.

``consumers.joiner.validate.check_record`` must return a :class:`Rejection` with the
case's reason code (or the decoded event for ``accepted``/``duplicate`` cases: the pure
path does not dedup; the joiner's processor does, see the integration test). Cases with a
known gap (``gap`` set in the file) are strict expected failures: they flip to errors the
day the joiner is fixed, so the corpus file is then updated.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from consumers.joiner.validate import JOINER_REASONS, Rejection, check_record
from contracts.envelope import Decoded
from contracts.errors import DECODE_REASONS
from contracts.registry import load_registry
from tests.hostile.corpus import (
    CASES_DIR,
    RECORD_TIME,
    HostileCase,
    corpus_public_keyring,
    load_cases,
)
from tests.support.paths import REPO

CASES = load_cases()
KEYRING_REASONS = {"bad-signature", "unknown-key-id", "key-agency-mismatch", "missing-signature"}


def _params() -> list[object]:
    params: list[object] = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.gap)] if case.gap else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def test_corpus_is_large_and_names_unique() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


def test_every_expected_reason_is_a_known_code() -> None:
    known = DECODE_REASONS | JOINER_REASONS | KEYRING_REASONS | {"accepted", "duplicate"}
    assert {c.expected for c in CASES} - known == set()


def test_readme_lists_every_case_with_its_reason() -> None:
    readme = (CASES_DIR.parent / "README.md").read_text()
    for case in CASES:
        assert f"`{case.name}`" in readme, case.name
        line = next(line for line in readme.splitlines() if f"`{case.name}`" in line)
        assert f"`{case.expected}`" in line, case.name


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    target = tmp_path / "cases"
    code = (
        "from pathlib import Path; from tests.hostile.make_corpus import main; "
        f"main(Path({str(target)!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    fresh = sorted(p.name for p in target.glob("*.json"))
    assert fresh == sorted(p.name for p in CASES_DIR.glob("*.json"))
    for name in fresh:
        assert (target / name).read_bytes() == (CASES_DIR / name).read_bytes(), name
    readme = CASES_DIR.parent / "README.md"
    assert (tmp_path / "README.md").read_text() == readme.read_text()


@pytest.mark.parametrize("case", _params())
def test_case_gets_its_reason(case: HostileCase) -> None:
    outcome = check_record(
        case.topic_agency,
        case.key,
        case.value,
        list(case.headers),
        corpus_public_keyring(),
        load_registry(),
        record_time=RECORD_TIME,
    )
    if case.expected in ("accepted", "duplicate"):
        assert isinstance(outcome, Decoded), outcome
    else:
        assert isinstance(outcome, Rejection), f"accepted: {case.description}"
        assert outcome.reason == case.expected, outcome
        # Dead-letter details never echo header or payload values.
        assert "\r" not in outcome.detail and "\x00" not in outcome.detail
