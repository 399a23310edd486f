"""The joiner's Kafka edge: record checks, co-partition check, the transactional engine."""

from consumers.joiner.copartition import check_copartitioned, verify_copartitioning
from consumers.joiner.engine import Joiner
from consumers.joiner.stats import JoinerStats
from consumers.joiner.validate import Rejection, check_record, deadletter_headers

__all__ = [
    "Joiner",
    "JoinerStats",
    "Rejection",
    "check_copartitioned",
    "check_record",
    "deadletter_headers",
    "verify_copartitioning",
]
