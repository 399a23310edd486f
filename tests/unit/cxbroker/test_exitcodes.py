"""The exit-code table: one meaning per code, every error kind mapped, the README in step."""

from __future__ import annotations

import re

from broker.errors import AccessDenied, BrokerUnavailable, SignatureMissing, UnknownSigningKey
from consumers.errors import MissingTopics, StateStoreError
from contracts.errors import ContractViolation, CxError
from cxbroker.exitcodes import ERROR_CODES, ExitCode, exit_code_for
from producers.errors import PiiLeak, SpoolFull
from tests.support.paths import REPO


def test_every_code_has_one_meaning() -> None:
    values = [code.value for code in ExitCode]
    assert len(values) == len(set(values))
    kinds = [kind for kind, _ in ERROR_CODES]
    assert len(kinds) == len(set(kinds))


def test_the_most_specific_kind_decides() -> None:
    assert exit_code_for(SpoolFull("full")) is ExitCode.SPOOL_FAILED
    assert exit_code_for(UnknownSigningKey("x")) is ExitCode.REJECTED
    assert exit_code_for(SignatureMissing("x")) is ExitCode.REJECTED
    assert exit_code_for(PiiLeak("ssn", "value")) is ExitCode.PII_REFUSED
    assert exit_code_for(AccessDenied("no")) is ExitCode.ACCESS_DENIED
    assert exit_code_for(BrokerUnavailable("down")) is ExitCode.KAFKA_UNAVAILABLE
    assert exit_code_for(StateStoreError("disk")) is ExitCode.STATE_FAILED
    assert exit_code_for(MissingTopics("none")) is ExitCode.TOPICS_NOT_READY
    assert exit_code_for(ContractViolation("bad")) is ExitCode.FAILED
    assert exit_code_for(CxError("other")) is ExitCode.FAILED
    assert exit_code_for(ValueError("not ours")) is ExitCode.FAILED


def test_readme_lists_every_exit_code() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    listed = {int(code) for code in re.findall(r"^\| `?(\d+)`? \|", section, re.M)}
    assert listed == {code.value for code in ExitCode}
