"""README.md's blocks: each runs in tests/integration/test_readme.py or says why not (#21, 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.readme_blocks import readme_blocks
from tests.support.paths import REPO


def test_every_block_runs_or_says_why_not() -> None:
    blocks = readme_blocks(REPO / "README.md")
    assert blocks, "README.md has no bash or python blocks"
    skipped = [b for b in blocks if b.skip]
    for block in skipped:
        assert "test" in block.skip or "covered" in block.skip, block.name  # type: ignore[operator]
    run = [b for b in blocks if not b.skip]
    assert {b.language for b in run} == {"bash", "python"}, "SDK snippets and commands run"
    assert len(run) >= 4


def test_python_blocks_are_scripts() -> None:
    for block in readme_blocks(REPO / "README.md"):
        if block.language == "python" and not block.skip:
            compile(block.text, block.name, "exec")  # no top-level await


def test_markers_are_checked(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- readme-test: skip: no -->\n```bash\nls\n```\n")
    with pytest.raises(ValueError, match="reason in words"):
        readme_blocks(readme)
    readme.write_text("<!-- readme-test: profile=joiner follows -->\n```bash\nls  # list\n```\n")
    (block,) = readme_blocks(readme)
    assert (block.profile, block.follows, block.commands()) == ("joiner", True, ["ls"])
    readme.write_text("<!-- readme-test: secured-only: acls -->\n```bash\nls\n```\n")
    with pytest.raises(ValueError, match="reason in words"):
        readme_blocks(readme)
    readme.write_text(
        "<!-- readme-test: secured-only: shows the ACLs of the secured cluster -->\n"
        "```bash\nls\n```\n"
    )
    (block,) = readme_blocks(readme)
    assert block.secured_only == "shows the ACLs of the secured cluster" and not block.skip
