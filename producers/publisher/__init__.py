"""The agency publisher: raw record in, signed de-identified event on ``cx.events.<agency>``.

Each record goes through de-identification (journey token, age band, ZIP3, scrubbed text),
contract validation (the event model), the PII guard over the final bytes (key, value,
headers), Ed25519 signing, and an idempotent producer (``acks=all``) keyed by the journey
token, so every event of one journey lands on one partition in publish order.

While Kafka cannot be reached (the producer does not start, a send times out or loses its
connection) the signed records go to the agency's outage spool (:mod:`producers.spool`)
instead, and every later record queues behind them until the spool drained: per-key order
is kept across an outage. A background task retries the drain; opening a publisher drains
what an earlier process left.

Delivery from the spool is at least once: a send that timed out may still have been
written, and is then sent again. The copies carry the same ``ce_id``/``event_id``, which
consumers use to drop duplicates.

Preparation (:mod:`~producers.publisher.prepare`) is CPU only and runs without Kafka (also
in worker processes). Delivery (:mod:`~producers.publisher.agency`) owns the producer and
the spool; :mod:`~producers.publisher.batches` turns one round of records into
per-partition batches and reads back their acknowledgements, and
:mod:`~producers.publisher.kafka` starts and aborts the producer and classifies its errors.
"""

from broker.errors import SigningKeyMissing
from contracts.errors import ContractViolation
from producers.errors import PiiLeak
from producers.publisher.agency import AgencyPublisher
from producers.publisher.delivery import DeliveryResult, DeliveryStatus
from producers.publisher.prepare import EventPreparer, PreparedEvent
from producers.spool import spool_dir

__all__ = [
    "AgencyPublisher",
    "ContractViolation",
    "DeliveryResult",
    "DeliveryStatus",
    "EventPreparer",
    "PiiLeak",
    "PreparedEvent",
    "SigningKeyMissing",
    "spool_dir",
]
