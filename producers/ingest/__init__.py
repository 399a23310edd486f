"""File ingestion: stream a CSV or JSONL file of raw agency records through the publisher.

The columns (CSV header names, JSONL keys) are exactly the fields of
:class:`~producers.deid.RawRecord` (:data:`COLUMNS`, :data:`REQUIRED_COLUMNS`); empty CSV
cells and JSON ``null`` mean "not given". Rows are read one at a time and published in
batches, so memory stays flat whatever the file size.

A row that cannot become an event is *rejected*: one JSON line in the rejects file with its
line number, a reason code (:class:`RejectReason`) and a detail naming fields and rules,
never a value from the row. Everything else is published.

Reading rows and checking the header (:mod:`~producers.ingest.rows`), rejecting a row and
writing the rejects file (:mod:`~producers.ingest.rejects`) and the run that prepares and
delivers in batches (:mod:`~producers.ingest.run`) each have a module.
"""

from producers.ingest.rejects import Reject, RejectReason, RejectsWriter, reject_for
from producers.ingest.rows import (
    COLUMNS,
    REQUIRED_COLUMNS,
    Row,
    columns_help,
    open_text,
    parse_row,
    read_csv,
    read_jsonl,
    read_rows,
)
from producers.ingest.run import IngestSummary, ingest

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "IngestSummary",
    "Reject",
    "RejectReason",
    "RejectsWriter",
    "Row",
    "columns_help",
    "ingest",
    "open_text",
    "parse_row",
    "read_csv",
    "read_jsonl",
    "read_rows",
    "reject_for",
]
