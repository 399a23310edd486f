"""The one table of ``cxbroker`` exit codes, and which error kind maps to which.

Every command ends with one of these codes; README.md lists them (a test keeps the two in
step). Errors carry no exit code themselves: :func:`exit_code_for` finds the code of the
most specific kind in :data:`ERROR_CODES`, so packages below the roof know nothing of
processes and exit codes.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from broker.errors import (
    AccessDenied,
    BrokerUnavailable,
    KeyringRefused,
    MissingTool,
    SignatureInvalid,
    UnknownProfile,
)
from consumers.errors import CoPartitionError, MissingTopics, StateStoreError
from contracts.errors import CxError
from cxbroker.errors import ContractsCommandError, IncompatibleContracts, PrivacyInputError
from producers.errors import IngestError, PiiLeak, SpoolError

__all__ = ["ERROR_CODES", "ExitCode", "exit_code_for"]


class ExitCode(IntEnum):
    """What a ``cxbroker`` exit code means (one meaning per code)."""

    #: Everything asked was done.
    OK = 0
    #: An error the message explains that has no code of its own.
    FAILED = 1
    #: The command line or an input file as a whole is unusable (click's own code too).
    USAGE = 2
    #: A program the command needs (Java 17, Maven) is missing.
    MISSING_TOOL = 3
    #: Kafka cannot be reached; publish and simulate: events wait in the outage spool.
    KAFKA_UNAVAILABLE = 4
    #: Kafka refused this principal or operation (authentication or authorization: also a
    #: wrong password, unknown user, SASL mechanism or TLS trust), or no (or an unknown)
    #: principal is selected on a secured cluster; nothing is spooled.
    ACCESS_DENIED = 5
    #: The PII guard refused to publish: an identifier was found in an outgoing record.
    PII_REFUSED = 6
    #: Some input was rejected (rows listed in the rejects file, records not publishable,
    #: a signature that does not verify); the rest went through.
    REJECTED = 7
    #: The outage spool cannot keep records safe (full, corrupt, locked, unwritable).
    SPOOL_FAILED = 8
    #: The local state directory cannot be read or written.
    STATE_FAILED = 9
    #: The topics are missing or not co-partitioned: run `cxbroker init`.
    TOPICS_NOT_READY = 10
    #: Key material refused at start: another organisation's private key in the key
    #: directory, files others may read, a public keyring that does not verify, a joiner
    #: or insights deployment whose own signing key is not published in the signed keyring.
    KEYS_REFUSED = 11
    #: Interrupted (Ctrl-C): what was running was stopped cleanly.
    INTERRUPTED = 130


#: Error kinds and their codes; the most specific kind of an error wins.
ERROR_CODES: Final[tuple[tuple[type[CxError], ExitCode], ...]] = (
    (ContractsCommandError, ExitCode.USAGE),
    (IngestError, ExitCode.USAGE),
    (PrivacyInputError, ExitCode.USAGE),
    (IncompatibleContracts, ExitCode.FAILED),
    (MissingTool, ExitCode.MISSING_TOOL),
    (BrokerUnavailable, ExitCode.KAFKA_UNAVAILABLE),
    (AccessDenied, ExitCode.ACCESS_DENIED),
    (UnknownProfile, ExitCode.ACCESS_DENIED),
    (PiiLeak, ExitCode.PII_REFUSED),
    (SignatureInvalid, ExitCode.REJECTED),
    (SpoolError, ExitCode.SPOOL_FAILED),
    (StateStoreError, ExitCode.STATE_FAILED),
    (CoPartitionError, ExitCode.TOPICS_NOT_READY),
    (MissingTopics, ExitCode.TOPICS_NOT_READY),
    (KeyringRefused, ExitCode.KEYS_REFUSED),
)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code of ``error``: that of its most specific kind in :data:`ERROR_CODES`."""
    for kind in type(error).__mro__:
        for known, code in ERROR_CODES:
            if kind is known:
                return code
    return ExitCode.FAILED
