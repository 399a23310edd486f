"""Missing or wrong principals on the session's secured broker: one line, exit 5, no spool (#21).

The commands run as a newcomer runs them: ``CX_STATE_DIR`` pointing at a state dir that
knows the session's local cluster (its ``kafka/`` record and the principals' credentials),
no ``CX_BOOTSTRAP_SERVERS`` and no security variables; ``CX_PROFILE`` set or not.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from broker.errors import AccessDenied, ProfileRequired
from broker.security.profile import load_settings
from consumers.subscribe import subscribe
from cxbroker.exitcodes import ExitCode
from producers.publisher import AgencyPublisher
from tests.support.kafka import SECURITY_ENV, KafkaEndpoint
from tests.support.newcomer import Newcomer, newcomer_on
from tests.support.raw_records import raw

pytestmark = pytest.mark.kafka

LE = "having-a-child"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def newcomer(
    kafka: KafkaEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Newcomer]:
    yield await newcomer_on(kafka, tmp_path_factory)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The command's error line; fails on a traceback or a client's leftovers."""
    assert "Traceback" not in done.stderr, done.stderr
    assert "Unclosed" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("cxbroker: error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def test_publish_without_a_profile_names_the_agency_principal(newcomer: Newcomer) -> None:
    done = newcomer.run("publish", "--agency", "ssa", "--file", str(newcomer.records / "ssa.csv"))
    assert done.returncode == ExitCode.ACCESS_DENIED
    line = one_line_error(done)
    assert "is secured and no principal is selected" in line
    assert f"to write to topic {newcomer.prefix}cx.events.ssa" in line
    assert line.endswith("set CX_PROFILE=agency-ssa")
    assert newcomer.spooled() == 0


def test_publish_as_another_agency_is_refused_not_spooled(newcomer: Newcomer) -> None:
    done = newcomer.run(
        "publish",
        "--agency",
        "ssa",
        "--file",
        str(newcomer.records / "ssa.csv"),
        profile="agency-irs",
    )
    assert done.returncode == ExitCode.ACCESS_DENIED
    line = one_line_error(done)
    assert f"agency-irs may not write to topic {newcomer.prefix}cx.events.ssa" in line
    assert line.endswith("run it as agency-ssa: CX_PROFILE=agency-ssa")
    assert newcomer.spooled() == 0


def test_simulate_as_a_data_team_is_refused_not_spooled(newcomer: Newcomer) -> None:
    done = newcomer.run("simulate", "--journeys", "5", profile="team-analytics")
    assert done.returncode == ExitCode.ACCESS_DENIED
    line = one_line_error(done)
    assert "team-analytics may not write to topic" in line
    assert "CX_PROFILE=agency-" in line
    assert "outage" not in done.stderr
    assert newcomer.spooled() == 0


def test_unknown_profile_lists_the_known_ones(newcomer: Newcomer) -> None:
    done = newcomer.run("tail", "joined", LE, "--idle", "1", profile="ssa")
    assert done.returncode == ExitCode.ACCESS_DENIED
    line = one_line_error(done)
    assert "no credential for principal 'ssa' (CX_PROFILE)" in line
    assert "agency-ssa" in line and "team-analytics" in line


@pytest.mark.parametrize(
    ("args", "needed", "job"),
    [
        (("join", "--until-idle", "1"), "joiner", "to join agency events"),
        (("insights", "-l", LE), "team-analytics", "to read topic"),
        (("insights", "--compute", "-l", LE), "insights", "to publish insights"),
        (("tail", "joined", LE, "--idle", "1"), "team-analytics", "to read topic"),
        (("tail", "deadletter", "--idle", "1"), "admin", "to read topic"),
    ],
)
def test_consumers_without_a_profile_name_their_principal(
    newcomer: Newcomer, args: tuple[str, ...], needed: str, job: str
) -> None:
    done = newcomer.run(*args)
    assert done.returncode == ExitCode.ACCESS_DENIED
    line = one_line_error(done)
    assert "is secured and no principal is selected" in line and job in line
    assert line.endswith(f"set CX_PROFILE={needed}")
    assert "cannot reach Kafka" not in done.stderr


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CX_* security variables (the session's admin's are set for in-process tests)."""
    for name in SECURITY_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_credentials")
async def test_sdk_publisher_without_a_profile_raises_and_spools_nothing(
    newcomer: Newcomer,
) -> None:
    settings = load_settings(state_dir=newcomer.state_dir, topic_prefix=newcomer.prefix)
    with pytest.raises(ProfileRequired, match="CX_PROFILE=agency-usda-fns"):
        async with AgencyPublisher(settings, "usda-fns"):
            pass
    # The joiner may describe agency topics (the publisher starts) but not write them.
    wrong = load_settings(
        state_dir=newcomer.state_dir, topic_prefix=newcomer.prefix, profile="joiner"
    )
    async with AgencyPublisher(wrong, "usda-fns") as publisher:
        with pytest.raises(AccessDenied) as caught:
            await publisher.publish(raw())
        assert publisher.spooled == 0
    assert str(caught.value).startswith(
        f"joiner may not write to topic {newcomer.prefix}cx.events.usda-fns"
    )
    assert str(caught.value).endswith("CX_PROFILE=agency-usda-fns")
    assert newcomer.spooled() == 0


@pytest.mark.usefixtures("no_credentials")
async def test_sdk_subscribe_without_a_profile_names_the_data_team(newcomer: Newcomer) -> None:
    settings = load_settings(state_dir=newcomer.state_dir, topic_prefix=newcomer.prefix)
    with pytest.raises(ProfileRequired, match="CX_PROFILE=team-analytics"):
        async for _ in subscribe(LE, group="cx.team-analytics.journeys", settings=settings):
            pass
    analysts = load_settings(
        state_dir=newcomer.state_dir, topic_prefix=newcomer.prefix, profile="team-analytics"
    )
    with pytest.raises(AccessDenied) as caught:
        async for _ in subscribe(LE, group="my-team", settings=analysts):
            pass
    assert str(caught.value).startswith(
        "team-analytics may not use consumer group 'my-team' (GroupAuthorizationFailedError); "
        f"the consumer groups of team-analytics must start with {newcomer.prefix}"
        "cx.team-analytics."
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("tail", "joined", LE, "--group", "analysts", "--idle", "1"),
            "team-analytics may not use consumer group 'analysts' "
            "(GroupAuthorizationFailedError); the consumer groups of team-analytics must start "
            "with {prefix}cx.team-analytics. (the access plan's grant), "
            "e.g. {prefix}cx.team-analytics.journeys",
        ),
        (
            ("tail", "deadletter", "--idle", "1"),
            "team-analytics may not read topic {prefix}cx.deadletter "
            "(TopicAuthorizationFailedError); run it as admin: CX_PROFILE=admin",
        ),
        (
            ("insights", "--compute", "-l", LE),
            "team-analytics may not publish insights to topics cx.insights.* "
            "(ClusterAuthorizationFailedError); run it as insights: CX_PROFILE=insights",
        ),
        (
            ("join", "--until-idle", "1"),
            "team-analytics cannot see the joiner's topics (Kafka lists only the topics a "
            "principal may describe); the joiner runs as joiner: CX_PROFILE=joiner",
        ),
        (
            ("access", "show"),
            "team-analytics may not describe the cluster's ACLs "
            "(ClusterAuthorizationFailedError); run it as admin: CX_PROFILE=admin",
        ),
    ],
)
def test_a_data_team_mistake_is_one_line(
    newcomer: Newcomer, args: tuple[str, ...], expected: str
) -> None:
    done = newcomer.run(*args, profile="team-analytics")
    assert done.returncode == ExitCode.ACCESS_DENIED
    assert one_line_error(done) == "cxbroker: error: " + expected.format(prefix=newcomer.prefix)


def test_a_data_team_is_not_told_to_compute_insights(newcomer: Newcomer) -> None:
    done = newcomer.run("insights", "-l", LE, profile="team-analytics")
    assert done.returncode == ExitCode.OK, done.stderr
    assert "no week insights released yet" in done.stdout
    assert "--compute" not in done.stdout
    assert "team-analytics cannot compute them" in done.stdout
