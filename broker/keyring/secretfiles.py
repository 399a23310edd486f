"""Secret files of an organisation's key directory: 0600 files in 0700 directories.

One helper for every kind of secret an organisation keeps (signing keys, encryption
keys, linkage keys, and any later secret such as a record-id HMAC key): written
atomically with their final mode from the first byte, never replaced by accident, and
checked on every read. :func:`check_tree` is the start-up check of a whole directory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from broker.errors import KeyringError, KeyringRefused
from broker.files import write_atomic

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "check_mode",
    "check_tree",
    "ensure_private_dir",
    "read_secret",
    "write_secret",
]

DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600


def check_mode(path: Path, allowed: int) -> None:
    """Refuse ``path`` when users other than its owner may access it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~allowed:
        raise KeyringRefused(
            f"{path} is accessible by other users (mode {mode:o}); "
            f"run `chmod {allowed:o} {path}` and rotate the keys if others may have read them"
        )


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as 0700 directories; tighten an existing one."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    # mkdir's mode is filtered by the umask, and an existing dir may be wider.
    for created in (path, *missing):
        os.chmod(created, DIR_MODE)
    return path


def write_secret(path: Path, data: bytes, *, replace: bool = False) -> None:
    """Write a secret file (0600 from its first byte, fsync'd) in a 0700 directory.

    Without ``replace`` an existing file is never overwritten (:class:`KeyringError`).
    """
    ensure_private_dir(path.parent)
    try:
        write_atomic(path, data, mode=FILE_MODE, replace=replace)
    except FileExistsError:
        raise KeyringError(
            f"{path.name} already exists (a concurrent change?); try again"
        ) from None


def read_secret(path: Path) -> bytes:
    """The bytes of a secret file, after checking its mode and its directory's."""
    check_mode(path.parent, DIR_MODE)
    check_mode(path, FILE_MODE)
    return path.read_bytes()


def check_tree(root: Path) -> None:
    """Every directory under ``root`` is 0700 and every file 0600 (symlinks refused)."""
    check_mode(root, DIR_MODE)
    for current, dirs, files in os.walk(root):
        base = Path(current)
        for name in dirs:
            check_mode(base / name, DIR_MODE)
        for name in files:
            file = base / name
            if file.is_symlink():
                raise KeyringRefused(f"{file} is a symbolic link; key files must be plain files")
            check_mode(file, FILE_MODE)
