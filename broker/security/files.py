"""Writing secret and public files: secrets are 0600 from their first byte, never world-readable."""

from __future__ import annotations

from pathlib import Path

from broker.files import write_atomic

__all__ = ["write_private", "write_public"]


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, mode=0o600)


def write_public(path: Path, data: bytes) -> None:
    """Write non-secret ``data`` (a certificate) atomically, mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, mode=0o644)
