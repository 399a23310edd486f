"""Child processes that end when the process that started them dies.

``cxbroker demo`` runs joiners and insights as ``cxbroker`` sub-processes in sessions of
their own (so Ctrl-C reaches the demo alone). When the demo stops normally it stops them;
when it is killed outright (SIGKILL, OOM killer) nothing would. So the demo passes its pid
in ``CX_PARENT_PID`` and the child asks Linux for a SIGTERM when its parent goes away
(``prctl(PR_SET_PDEATHSIG)``); ``cxbroker join`` handles SIGTERM like Ctrl-C. On other
systems the variable is ignored.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Mapping, MutableMapping

from broker.errors import CxError

__all__ = ["LINUX", "PARENT_ENV", "child_env", "follow_parent"]

PARENT_ENV = "CX_PARENT_PID"
_PR_SET_PDEATHSIG = 1
#: Where PR_SET_PDEATHSIG exists; elsewhere a killed demo's children outlive it.
LINUX = sys.platform.startswith("linux")


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a child that should end with this process."""
    return {**env, PARENT_ENV: str(os.getpid())}


def follow_parent(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Arrange a SIGTERM for this process when the parent in ``CX_PARENT_PID`` dies.

    Removes the variable (grandchildren follow their own parent, not the demo). Returns
    whether the arrangement was made. Raises :class:`CxError` when that parent is already
    gone (this process was re-parented before it could ask).
    """
    value = environ.pop(PARENT_ENV, None)
    if value is None:
        return False
    try:
        parent = int(value)
    except ValueError as exc:
        raise CxError(f"{PARENT_ENV} must be a process id, got {value!r}") from exc
    if not LINUX:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise CxError(f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(errno)}")
    # Checked after the prctl: a parent that died before it would never signal us.
    if os.getppid() != parent:
        raise CxError(f"the process that started this one (pid {parent}) has exited")
    return True
