"""Provisioning makes Kafka's coordinators ready, so a joiner's first start logs no
GroupCoordinatorNotAvailableError (#21, 8)."""

from __future__ import annotations

from aiokafka.errors import GroupCoordinatorNotAvailableError, TransactionalIdAuthorizationFailed

from broker.provision import GROUP_COORDINATOR, TXN_COORDINATOR, ready_coordinators


class _Admin:
    """Answers COORDINATOR_NOT_AVAILABLE ``failures`` times per key, then a broker id."""

    def __init__(self, failures: int, error: type[Exception] = GroupCoordinatorNotAvailableError):
        self.failures = failures
        self.error = error
        self.asked: list[tuple[str, int]] = []

    async def find_coordinator(self, key: str, kind: int) -> int:
        self.asked.append((key, kind))
        if sum(1 for k in self.asked if k == (key, kind)) <= self.failures:
            raise self.error()
        return 1


async def test_both_coordinators_are_asked_until_they_answer() -> None:
    admin = _Admin(failures=3)
    assert await ready_coordinators(admin, "p.") is True
    assert admin.asked.count(("p.cx.joiner", GROUP_COORDINATOR)) == 4
    assert admin.asked.count(("p.cx.joiner.0", TXN_COORDINATOR)) == 4


async def test_a_refusal_or_a_deadline_is_not_an_error() -> None:
    refused = _Admin(failures=1, error=TransactionalIdAuthorizationFailed)
    assert await ready_coordinators(refused) is False
    assert len(refused.asked) == 1
    slow = _Admin(failures=10**6)
    assert await ready_coordinators(slow, within=0.5) is False
