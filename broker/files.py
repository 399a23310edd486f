"""Atomic, durable file writes for keys, credentials and configuration.

One implementation serves the keyring, the security material and the local cluster's
configs: the file appears complete or not at all, with its final mode from its first
byte (a secret is never readable by others, even briefly), and survives a crash (data
and directory fsync'd).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["fsync_dir", "write_atomic"]


def fsync_dir(directory: Path) -> None:
    """Make a directory's entries (a created or renamed file) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600, replace: bool = True) -> None:
    """Write ``data`` to ``path`` via a fsync'd temp file in the same directory.

    ``replace=False`` refuses to overwrite: it raises :class:`FileExistsError` when
    ``path`` exists (two concurrent writers cannot both win). The parent must exist.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # created 0600
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_dir(path.parent)
