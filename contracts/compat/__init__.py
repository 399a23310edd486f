"""Compatibility of contract versions, judged on their JSON Schemas (closed content models).

Terms follow the Confluent Schema Registry:

* ``BACKWARD``: the new schema can read data written with the old one (upgrade readers
  first); ``FORWARD``: the old schema can read data written with the new one (upgrade
  writers first); ``FULL``: both.
* The plain modes compare each version with the one before it; the ``_TRANSITIVE``
  modes with every earlier version. ``NONE`` checks nothing.
* Versions are only compared within one major version: a new major is a new contract.

The modules, from the bottom up:

* :mod:`contracts.compat.modes` - :class:`Mode` and :class:`Direction`;
* :mod:`contracts.compat.changes` - :class:`Change` and :class:`Violation`, what is reported;
* :mod:`contracts.compat.normalize` - :func:`normalize_schema`, so equal schemas compare equal;
* :mod:`contracts.compat.diff` - :func:`diff_schemas`, the rules for two schemas;
* :mod:`contracts.compat.history` - :func:`check_history` and :func:`check_released`,
  whole version histories and the registry against its released schemas.
"""

from contracts.compat.changes import Change, ChangeKind, Violation
from contracts.compat.diff import breaking_changes, diff_schemas
from contracts.compat.history import check_history, check_released
from contracts.compat.modes import Direction, Mode
from contracts.compat.normalize import normalize_schema

__all__ = [
    "Change",
    "ChangeKind",
    "Direction",
    "Mode",
    "Violation",
    "breaking_changes",
    "check_history",
    "check_released",
    "diff_schemas",
    "normalize_schema",
]
