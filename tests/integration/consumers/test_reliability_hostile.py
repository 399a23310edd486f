"""Hostile corpus through real Kafka: every case interleaved with good events.

Each dead-letter case lands in the dead-letter topic with its own reason code and its
value and key unchanged; the replayed event id is deduplicated (not dead-lettered); the
joiner keeps running; every good event is joined (snapshots equal the reference).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from consumers.joiner.validate import DLQ_OFFSET, DLQ_PARTITION, DLQ_REASON, DLQ_TOPIC
from contracts.envelope import decode
from contracts.events import CxEvent
from tests.hostile.corpus import HostileCase, load_cases
from tests.support.joiner import (
    Env,
    RawRecord,
    assert_matches_reference,
    join_until_idle,
    joined_history,
    make_env,
    produce_raw,
    read_all,
    reference,
    sign_with_corpus_keys,
)
from tests.support.journeys import make_workload
from tests.support.kafka import KafkaEndpoint

pytestmark = pytest.mark.kafka

ACCEPTED = ("accepted", "duplicate")


def _raw(env: Env, case: HostileCase) -> RawRecord:
    assert case.topic_agency is not None
    headers = [(n, v) for n, v in case.headers if v is not None]
    return RawRecord(env.settings.topics.agency(case.topic_agency), case.key, case.value, headers)


def _accepted_event(case: HostileCase) -> CxEvent:
    assert case.value is not None
    return decode(case.key, case.value, case.headers).event


async def _run_corpus(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str], cases: list[HostileCase]
) -> tuple[Env, list[HostileCase], dict[tuple[str, int, int], HostileCase], list[CxEvent]]:
    env = await make_env(
        kafka.bootstrap_servers, tmp_path, unique("hostile"), unique("joiner"), corpus_keys=True
    )
    good = make_workload(61, 2)
    signed = [
        RawRecord(t, r.key, r.value, r.headers)
        for t, r in sign_with_corpus_keys(env.settings, good)
    ]
    # One hostile record after every few good ones, in corpus order.
    stream: list[RawRecord] = []
    owner: list[HostileCase | None] = []
    step = max(1, len(signed) // len(cases))
    for index, case in enumerate(cases):
        chunk = signed[index * step : (index + 1) * step]
        stream += [*chunk, _raw(env, case)]
        owner += [*([None] * len(chunk)), case]
    rest = signed[len(cases) * step :]
    stream += rest
    owner += [None] * len(rest)
    metas = await produce_raw(env.settings.bootstrap_servers, stream)
    at = {
        (m.topic, m.partition, m.offset): case
        for m, case in zip(metas, owner, strict=True)
        if case is not None
    }
    joined = good + [_accepted_event(c) for c in cases if c.expected == "accepted"]
    return env, cases, at, joined


async def test_every_hostile_case_is_dead_lettered_with_its_reason_and_good_events_join(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    cases = [c for c in load_cases() if c.integration and c.gap is None]
    assert len(cases) >= 40
    env, cases, at, joined = await _run_corpus(kafka, tmp_path, unique, cases)
    joiner = await join_until_idle(env)  # raises if the joiner crashed

    letters_expected = [c for c in cases if c.expected not in ACCEPTED]
    assert joiner.stats.dead_letters == len(letters_expected)
    assert joiner.stats.duplicates == sum(c.expected == "duplicate" for c in cases)
    assert dict(joiner.stats.reasons) == dict(Counter(c.expected for c in letters_expected))

    letters = await read_all(env.settings, [env.settings.topics.deadletter])
    assert len(letters) == len(letters_expected)
    seen = set()
    for letter in letters:
        headers = dict(letter.headers)
        coordinates = (
            headers[DLQ_TOPIC].decode(),
            int(headers[DLQ_PARTITION]),
            int(headers[DLQ_OFFSET]),
        )
        case = at[coordinates]
        seen.add(case.name)
        assert headers[DLQ_REASON].decode() == case.expected, case.name
        if case.expected == "pii-detected":
            assert letter.value is None, case.name  # the identifier stays out of the DLQ
        else:
            assert letter.value == case.value, case.name  # unchanged (None stays None)
        assert letter.key == case.key, case.name
    assert seen == {c.name for c in letters_expected}
    assert_matches_reference(await joined_history(env.settings), reference(joined))


async def test_poison_pill_json_is_dead_lettered_not_fatal(
    kafka: KafkaEndpoint, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    cases = [c for c in load_cases() if c.name in ("huge-integer", "deep-nesting")]
    assert len(cases) == 2
    env, cases, _, joined = await _run_corpus(kafka, tmp_path, unique, cases)
    joiner = await join_until_idle(env)
    assert joiner.stats.reasons == Counter({"malformed-json": 2})
    assert_matches_reference(await joined_history(env.settings), reference(joined))
