"""What the benchmark ran on: cores, memory, Python, Kafka version and load (from /proc)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

__all__ = ["load_average", "machine_info", "rss_kib"]


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work on the host skews every figure)."""
    return [round(x, 2) for x in os.getloadavg()]


def _meminfo_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_kib(pid: int | str = "self") -> dict[str, int | None]:
    """Resident set size now (``VmRSS``) and at its peak (``VmHWM``) of one process, in KiB."""
    out: dict[str, int | None] = {"rss_kib": None, "hwm_kib": None}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            out["rss_kib"] = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            out["hwm_kib"] = int(line.split()[1])
    return out


def machine_info(kafka_version: str | None) -> dict[str, Any]:
    """Cores, RAM, Python, platform, Kafka version and the load average at the start."""
    total = _meminfo_kib("MemTotal")
    return {
        "cores": os.cpu_count(),
        "ram_mib": total // 1024 if total else None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "kafka_version": kafka_version,
        "load_average_start": load_average(),
    }
