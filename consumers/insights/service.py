"""The insights service: ``cx.joined.<le>`` in, audited releases on ``cx.insights.<le>`` out.

A thin Kafka edge around pure steps: read the joined journeys
(:func:`~consumers.insights.topics.read_joined`), group them by the week they started in,
and for every week that is due (closed, grace included) ask
:func:`~consumers.insights.release.plan.next_release` for its next release. A release is
recorded in the service's history *before* it is sent (write-ahead), then its cells are
sent, and only once all are acknowledged its manifest: readers see whole releases only. A
recorded release whose manifest is not on the topic (a crash in between) is re-sent as
recorded on the next run. Nothing changes on the topic between releases: there is no live
feed for an attacker to difference.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from broker.errors import BrokerUnavailable
from broker.keyring import Keyring
from broker.keyring.deployment import DeploymentSigner
from broker.security.errors import denied_as
from broker.settings import Settings
from consumers.errors import BudgetExceeded, InsightsError
from consumers.insights.aggregate import journeys_by_week
from consumers.insights.audit import ProtectionRule
from consumers.insights.dp.budget import BudgetLedger
from consumers.insights.dp.plan import next_dp_release
from consumers.insights.release.history import History, PastRelease
from consumers.insights.release.plan import DEFAULT_GRACE, is_due, next_release
from consumers.insights.topics import (
    DEFAULT_CATCH_UP_TIMEOUT_S,
    INSIGHTS_PRINCIPAL,
    Released,
    read_joined,
    read_releases,
)
from contracts.catalog import LifeExperience, load_catalog
from contracts.insights import InsightCell, InsightRelease, Privacy
from contracts.joined import JourneySnapshot
from contracts.provenance import cell_id, manifest_id, record_headers

__all__ = [
    "CatchUpReport",
    "InsightsService",
    "ReleaseSummary",
    "encode_cell",
    "signed_headers",
]

log = logging.getLogger(__name__)


def encode_cell(cell: InsightCell) -> tuple[bytes, bytes]:
    """The Kafka key and value of ``cell`` (value: the contract's JSON)."""
    return cell.key().encode(), cell.model_dump_json().encode()


def signed_headers(
    signer: DeploymentSigner, item: InsightCell | InsightRelease, key: bytes, value: bytes
) -> list[tuple[str, bytes]]:
    """The CloudEvents headers of a cell or manifest record, signed by the deployment.

    ``ce_time``: a manifest's ``published_at``, a cell's period start (midnight UTC: a cell
    holds no time of its own); ``ce_id`` is deterministic (:mod:`contracts.provenance`).
    """
    model: type[InsightCell | InsightRelease]
    if isinstance(item, InsightRelease):
        ce_id, model, when = (
            manifest_id(item.key(), item.release),
            InsightRelease,
            item.published_at,
        )
    else:
        ce_id, model, when = cell_id(item.key(), item.release), InsightCell, _cell_time(item)
    unsigned = record_headers(
        model, ce_id=ce_id, source=signer.owner, time=when, life_experience=item.life_experience
    )
    return signer.sign(key, value, unsigned)


def _cell_time(cell: InsightCell) -> datetime:
    # The cell's period start (a day or an ISO week), at midnight UTC: deterministic.
    if "W" in cell.period:
        year, week = cell.period.split("-W")
        return datetime.fromisocalendar(int(year), int(week), 1).replace(tzinfo=UTC)
    return datetime.fromisoformat(cell.period).replace(tzinfo=UTC)


@dataclass(frozen=True)
class ReleaseSummary:
    """One release this run published: never a value, only its shape and audit cost."""

    release: str
    period: str
    cells: int
    suppressed: int
    final: bool
    audit_seconds: float
    resent: bool = False


@dataclass
class CatchUpReport:
    """What one catch-up run did for one life experience."""

    life_experience: str
    journeys: int = 0
    invalid_records: int = 0
    weeks_waiting: int = 0
    releases: list[ReleaseSummary] = field(default_factory=list)
    #: Releases refused because they would exceed the week's DP budget (messages).
    refused: list[str] = field(default_factory=list)
    sent: int = 0
    tombstones: int = 0

    @property
    def cells(self) -> int:
        """Cells of the releases published by this run."""
        return sum(r.cells for r in self.releases)

    @property
    def suppressed(self) -> int:
        """Suppressed cells among them."""
        return sum(r.suppressed for r in self.releases)

    @property
    def audit_seconds(self) -> float:
        """Time spent drafting, complementing and auditing."""
        return sum(r.audit_seconds for r in self.releases)


class InsightsService:
    """Computes and publishes the releases of some life experiences (module docstring).

    ``catch_up`` reads everything committed so far and releases what is due
    (``--until-idle``); ``run`` keeps doing so.
    """

    def __init__(
        self,
        settings: Settings,
        life_experiences: Sequence[str] | None = None,
        *,
        within: float = DEFAULT_CATCH_UP_TIMEOUT_S,
        grace: timedelta = DEFAULT_GRACE,
        rule: ProtectionRule | None = None,
        privacy: Privacy = Privacy.SUPPRESSION,
    ) -> None:
        catalog = load_catalog()
        ids = list(life_experiences or [le.id for le in catalog.life_experiences])
        self.settings = settings
        self.life_experiences: list[LifeExperience] = [catalog.life_experience(i) for i in ids]
        self.within = within
        self.grace = grace
        self.rule = rule or ProtectionRule()
        self.privacy = privacy
        # One history per privacy mode: a week's releases are audited (or budgeted) within
        # its mode; a week is never released under both (checked against the topic).
        folder = "insights" if privacy is Privacy.SUPPRESSION else "insights-dp"
        self.history = History(settings.state_dir / folder)
        self.ledger = BudgetLedger(settings.state_dir / "insights-dp" / "budget.json")
        self._signer: DeploymentSigner | None = None

    def signer(self) -> DeploymentSigner:
        """The signer of the insights deployment whose key directory is ``CX_KEYRING_DIR``
        (``ce_source`` its owner ``urn:cx:insights:<name>``); refused in one line (exit code
        11) when its current key is not in the signed public keyring."""
        if self._signer is None:
            self._signer = Keyring(self.settings.keyring_path).deployment_signer("insights")
        return self._signer

    async def catch_up(self) -> list[CatchUpReport]:
        """Read every joined topic to its end and publish the releases that are due."""
        self.signer()  # keys first: an unpublished deployment key stops it before Kafka
        refused = denied_as(
            self.settings.sasl_username,
            "publish insights to",
            "topics cx.insights.*",
            needed=INSIGHTS_PRINCIPAL,
        )
        with refused:
            producer = AIOKafkaProducer(
                acks="all",
                enable_idempotence=True,
                linger_ms=20,
                **self.settings.kafka_client_kwargs(),
            )
        try:
            with refused:
                await producer.start()
        except BaseException as exc:
            await producer.stop()
            if not isinstance(exc, KafkaError):
                raise
            raise BrokerUnavailable(
                f"cannot reach Kafka to publish insights: {type(exc).__name__}"
            ) from exc
        try:
            with refused:
                reports = [await self._catch_up_one(producer, le) for le in self.life_experiences]
            return reports
        finally:
            await producer.stop()

    async def _catch_up_one(
        self, producer: AIOKafkaProducer, life_experience: LifeExperience
    ) -> CatchUpReport:
        le = life_experience.id
        report = CatchUpReport(le)
        snapshots, report.invalid_records = await read_joined(self.settings, le, within=self.within)
        weeks = journeys_by_week(snapshots, life_experience)
        report.journeys = sum(len(j) for j in weeks.values())
        watermark = max((j.last_event_at for js in weeks.values() for j in js), default=None)
        on_topic = await read_releases(self.settings, le, within=self.within)
        current: set[str] = set()
        for week, journeys in weeks.items():
            if not is_due(week, watermark, self.grace):
                report.weeks_waiting += 1
                continue
            past = self.history.releases(le, week)
            if past and _not_on_topic(past[-1], on_topic):
                await self._send(producer, le, past[-1])  # cut off last time: re-send
                report.releases.append(_summary(past[-1], 0.0, resent=True))
            shown = on_topic.manifests.get(week)
            if shown is not None and shown.privacy is not self.privacy:
                raise InsightsError(
                    f"{le} {week} was released with privacy {shown.privacy.value}; "
                    f"it is not released again with {self.privacy.value}"
                )
            started = time.perf_counter()
            try:
                record = self._next(week, journeys, life_experience, past)
            except BudgetExceeded as exc:
                report.refused.append(str(exc))
                record = None
            if record is not None:
                self.history.record(le, week, record)
                report.sent += await self._send(producer, le, record)
                report.releases.append(_summary(record, time.perf_counter() - started))
                past = [*past, record]
            if past:
                current |= {c.key() for c in past[-1].published} | {past[-1].manifest.key()}
        report.tombstones = await self._clean(producer, le, on_topic, current)
        for summary in report.releases:
            log.info(
                "insights %s: release %s, %d cells (%d suppressed), audit %.2f s",
                le,
                summary.release,
                summary.cells,
                summary.suppressed,
                summary.audit_seconds,
            )
        return report

    def _next(
        self,
        week: str,
        journeys: Sequence[JourneySnapshot],
        life_experience: LifeExperience,
        past: Sequence[PastRelease],
    ) -> PastRelease | None:
        now = datetime.now(UTC)
        if self.privacy is Privacy.DP:
            return next_dp_release(week, journeys, life_experience, past, self.ledger, now=now)
        planned = next_release(week, journeys, life_experience, past, now=now, rule=self.rule)
        return None if planned is None else planned.record

    async def _send(self, producer: AIOKafkaProducer, le: str, record: PastRelease) -> int:
        """The cells of ``record``, then (all acknowledged) its manifest."""
        topic = self.settings.topics.insights(le)
        signer = self.signer()
        futures: list[Awaitable[object]] = []
        for cell in record.published:
            key, value = encode_cell(cell)
            headers = signed_headers(signer, cell, key, value)
            futures.append(await producer.send(topic, value, key=key, headers=headers))
        await asyncio.gather(*futures)
        manifest = record.manifest
        key, value = manifest.key().encode(), manifest.model_dump_json().encode()
        headers = signed_headers(signer, manifest, key, value)
        await (await producer.send(topic, value, key=key, headers=headers))
        return len(futures) + 1

    async def _clean(
        self, producer: AIOKafkaProducer, le: str, on_topic: Released, current: set[str]
    ) -> int:
        """Tombstones for every key on the topic that no current release holds (cells of a
        release a correction replaced with fewer keys, or of the live feed of old)."""
        stale = sorted(on_topic.keys - current)
        topic = self.settings.topics.insights(le)
        futures = [await producer.send(topic, None, key=k.encode()) for k in stale]
        await asyncio.gather(*futures)
        return len(stale)

    async def run(
        self,
        *,
        interval: float = 5.0,
        stop: asyncio.Event | None = None,
        on_round: Callable[[list[CatchUpReport]], None] | None = None,
    ) -> None:
        """Catch up every ``interval`` seconds until ``stop`` is set: a round in which no
        week became due or final sends nothing (releases, not a live feed). ``on_round``
        gets each round's reports (metrics)."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            reports = await self.catch_up()
            if on_round is not None:
                on_round(reports)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                continue


def _not_on_topic(record: PastRelease, on_topic: Released) -> bool:
    shown = on_topic.manifests.get(record.manifest.period)
    return shown is None or shown.release != record.manifest.release


def _summary(record: PastRelease, seconds: float, *, resent: bool = False) -> ReleaseSummary:
    manifest = record.manifest
    suppressed = sum(cell.suppressed for cell in record.published)
    return ReleaseSummary(
        manifest.release,
        manifest.period,
        manifest.cells,
        suppressed,
        manifest.final,
        seconds,
        resent,
    )
