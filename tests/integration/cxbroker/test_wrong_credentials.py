"""A refused login is not an outage: wrong password, unknown user, SASL mechanism, TLS trust (#21).

aiokafka reports a failed SASL handshake as ``KafkaConnectionError`` (as for a broker that
is down), so before #21 ``publish`` spooled when a principal's password was wrong. Here a
newcomer's state dir on the session's secured broker holds its own copy of the principals'
credentials with wrong passwords for some of them: every command says so in one line,
exits 5 and spools nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from broker.errors import AuthenticationFailed
from broker.security.profile import load_settings
from broker.security.tls import generate_ca
from consumers.subscribe import subscribe
from cxbroker.exitcodes import ExitCode
from producers.publisher import AgencyPublisher
from tests.support.kafka import SECURITY_ENV, KafkaEndpoint
from tests.support.newcomer import Newcomer, newcomer_on
from tests.support.raw_records import raw

pytestmark = pytest.mark.kafka

LE = "having-a-child"
WRONG = "not-the-password-0"
#: Principals whose stored password is wrong in this state dir; "ghost" is no user at all.
WRONG_PASSWORD = ("agency-ssa", "agency-usda-fns", "joiner", "team-analytics")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def newcomer(
    kafka: KafkaEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Newcomer]:
    who = await newcomer_on(kafka, tmp_path_factory)
    shared = who.state_dir / "credentials"
    own = shared.resolve()
    shared.unlink()  # a copy of its own: the session's users keep their passwords
    shutil.copytree(own, shared)
    for name in WRONG_PASSWORD:
        path = shared / f"{name}.json"
        path.write_text(json.dumps({"username": name, "password": WRONG}))
    (shared / "ghost.json").write_text(json.dumps({"username": "ghost", "password": WRONG}))
    for path in shared.iterdir():
        path.chmod(0o600)
    yield who


def run(
    newcomer: Newcomer, *args: str, profile: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cxbroker", *args],
        env=newcomer.env(profile) | extra,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The command's error line; fails on a traceback or a client's leftovers."""
    assert "Traceback" not in done.stderr, done.stderr
    assert "Unclosed" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("cxbroker: error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def refused_line(done: subprocess.CompletedProcess[str], principal: str) -> str:
    """The one error line of a refused login of ``principal``; exit 5, no outage words."""
    assert done.returncode == ExitCode.ACCESS_DENIED, done.stderr
    line = one_line_error(done)
    assert f"refused the credentials of principal {principal} (SaslAuthenticationFailed)" in line
    assert "outage" not in done.stderr and "cannot reach" not in done.stderr
    assert WRONG not in done.stderr + done.stdout
    return line


def test_publish_with_a_wrong_password_is_refused_and_spools_nothing(newcomer: Newcomer) -> None:
    done = run(
        newcomer,
        *("publish", "--agency", "ssa", "--file", str(newcomer.records / "ssa.csv")),
        profile="agency-ssa",
    )
    line = refused_line(done, "agency-ssa")
    assert line.startswith("cxbroker: error: Kafka at 127.0.0.1:")
    assert line.endswith(
        f"check CX_PROFILE=agency-ssa and its credentials file "
        f"{newcomer.state_dir / 'credentials' / 'agency-ssa.json'}"
    )
    assert newcomer.spooled() == 0


def test_simulate_with_a_wrong_password_is_refused_and_spools_nothing(
    newcomer: Newcomer,
) -> None:
    done = run(newcomer, "simulate", "--journeys", "5", profile="agency-ssa")
    refused_line(done, "agency-ssa")
    assert newcomer.spooled() == 0


def test_an_unknown_user_is_refused_and_spools_nothing(newcomer: Newcomer) -> None:
    done = run(
        newcomer,
        *("publish", "--agency", "ssa", "--file", str(newcomer.records / "ssa.csv")),
        profile="ghost",
    )
    refused_line(done, "ghost")
    assert newcomer.spooled() == 0


@pytest.mark.parametrize(
    ("args", "principal"),
    [
        (("join", "--until-idle", "1"), "joiner"),
        (("tail", "joined", LE, "--idle", "1"), "team-analytics"),
        (("insights", "-l", LE), "team-analytics"),
        (("lag",), "joiner"),
        (("access", "show"), "ghost"),
    ],
)
def test_consumers_and_operators_with_a_wrong_password_are_refused(
    newcomer: Newcomer, args: tuple[str, ...], principal: str
) -> None:
    done = run(newcomer, *args, profile=principal)
    refused_line(done, principal)
    if args[0] == "join":  # the long-running joiner probes first: no client ERROR log either
        assert "Unable connect" not in done.stderr and "ERROR" not in done.stderr, done.stderr


def test_a_sasl_mechanism_the_listener_lacks_is_refused(newcomer: Newcomer) -> None:
    done = run(
        newcomer,
        *("tail", "joined", LE, "--idle", "1"),
        profile="agency-irs",  # a right password: the mechanism alone fails
        CX_SASL_MECHANISM="SCRAM-SHA-256",
    )
    assert done.returncode == ExitCode.ACCESS_DENIED, done.stderr
    assert one_line_error(done).endswith(
        "does not offer the SASL mechanism SCRAM-SHA-256 that principal agency-irs uses "
        "(UnsupportedSaslMechanismError): check CX_SASL_MECHANISM"
    )


def test_a_ca_that_does_not_verify_the_broker_is_refused(newcomer: Newcomer) -> None:
    other_ca = newcomer.state_dir / "other-ca.pem"
    other_ca.write_bytes(generate_ca("not the cluster's CA")[0])
    done = run(
        newcomer,
        *("publish", "--agency", "ssa", "--file", str(newcomer.records / "ssa.csv")),
        profile="agency-ssa",  # TLS fails before any password is sent
        CX_CA_FILE=str(other_ca),
    )
    assert done.returncode == ExitCode.ACCESS_DENIED, done.stderr
    line = one_line_error(done)
    assert f"presented a certificate that {other_ca} does not verify" in line
    assert "check CX_CA_FILE" in line
    assert newcomer.spooled() == 0


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CX_* security variables (the session's admin's are set for in-process tests)."""
    for name in SECURITY_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_credentials")
async def test_sdk_publisher_with_a_wrong_password_raises_and_spools_nothing(
    newcomer: Newcomer,
) -> None:
    settings = load_settings(
        state_dir=newcomer.state_dir, topic_prefix=newcomer.prefix, profile="agency-usda-fns"
    )
    with pytest.raises(AuthenticationFailed) as caught:
        async with AgencyPublisher(settings, "usda-fns") as publisher:
            await publisher.publish(raw())
    assert "refused the credentials of principal agency-usda-fns" in str(caught.value)
    assert WRONG not in str(caught.value)
    assert newcomer.spooled() == 0


@pytest.mark.usefixtures("no_credentials")
async def test_sdk_subscribe_with_a_wrong_password_raises(newcomer: Newcomer) -> None:
    settings = load_settings(
        state_dir=newcomer.state_dir, topic_prefix=newcomer.prefix, profile="team-analytics"
    )
    with pytest.raises(AuthenticationFailed, match="principal team-analytics"):
        async for _ in subscribe(LE, group="cx.team-analytics.journeys", settings=settings):
            pass
