"""The fenced ``bash`` and ``python`` blocks of README.md, and how each is to be run.

A block runs unless the line before its fence says otherwise, visibly in the README:

* ``<!-- readme-test: skip: <why> -->``: not run; the reason (at least a few words) says why
  and where else it is tested;
* ``<!-- readme-test: secured-only: <why> -->``: run on the secured cluster only, not in the
  plain-cluster walk (``kafka up --security none``); the reason says why;
* ``<!-- readme-test: profile=<principal> [follows] -->``: run with ``CX_PROFILE=<principal>``;
  ``follows``: its commands follow a topic forever, so each must still be running (or have
  ended well) after a while, and is then stopped;
* ``<!-- readme-test: run -->`` (or nothing): run as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["Block", "readme_blocks"]

_FENCE: Final = re.compile(r"^```(bash|python)\s*$")
_MARKER: Final = re.compile(r"^<!-- readme-test: (.*) -->$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it starts, its language and text, and how to run it."""

    line: int
    language: str
    text: str
    skip: str | None = None
    secured_only: str | None = None
    profile: str | None = None
    follows: bool = False

    @property
    def name(self) -> str:
        first = next((ln for ln in self.text.splitlines() if ln.strip()), "")
        return f"README.md:{self.line} {self.language}: {first[:50]}"

    def commands(self) -> list[str]:
        """A bash block's commands, one per line (comments dropped)."""
        found = []
        for raw in self.text.splitlines():
            command = re.sub(r"\s+#.*$", "", raw).strip()
            if command and not command.startswith("#"):
                found.append(command)
        return found


def _parse_marker(text: str) -> dict[str, object]:
    if text.startswith("skip:"):
        reason = text.removeprefix("skip:").strip()
        if len(reason.split()) < 3:
            raise ValueError(f"a skip needs its reason in words: {text!r}")
        return {"skip": reason}
    if text.startswith("secured-only:"):
        reason = text.removeprefix("secured-only:").strip()
        if len(reason.split()) < 3:
            raise ValueError(f"a secured-only block needs its reason in words: {text!r}")
        return {"secured_only": reason}
    fields: dict[str, object] = {}
    for word in text.split():
        if word == "run":
            continue
        if word == "follows":
            fields["follows"] = True
        elif word.startswith("profile="):
            fields["profile"] = word.removeprefix("profile=")
        else:
            raise ValueError(f"unknown readme-test marker word {word!r}")
    return fields


def readme_blocks(path: Path) -> list[Block]:
    """Every ``bash`` and ``python`` block of the file at ``path``, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        marker = _MARKER.match(lines[index - 1].strip()) if index else None
        fields = _parse_marker(marker.group(1)) if marker else {}
        text = "\n".join(lines[index + 1 : end]) + "\n"
        blocks.append(Block(index + 1, match.group(1), text, **fields))  # type: ignore[arg-type]
        index = end + 1
    return blocks
