"""Writing secret and public files: secrets are 0600 from their first byte, never world-readable."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["write_private", "write_public"]


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    # O_EXCL with mode 0600: the secret never exists under a wider mode, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)


def write_public(path: Path, data: bytes) -> None:
    """Write non-secret ``data`` (a certificate) atomically, mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o644)
    tmp.replace(path)
