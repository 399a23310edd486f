"""Every runnable README block, run as a newcomer would on the session's secured broker (#21, 6).

Blocks run in a scratch directory holding ``records.csv`` (simulated SSA records) and a link
to the repository's ``contracts/``, with ``.venv/bin`` on PATH and the state dir of a
newcomer of the session cluster (no topic prefix: the README's names are literal).
Opting out is visible in the README (``<!-- readme-test: skip: ... -->``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.readme_blocks import Block, readme_blocks
from tests.support.kafka import KafkaEndpoint
from tests.support.newcomer import Newcomer, newcomer_on
from tests.support.paths import REPO

pytestmark = pytest.mark.kafka

BLOCKS = [b for b in readme_blocks(REPO / "README.md") if not b.skip]
#: Seconds a following command must keep running without failing.
FOLLOW_S = 12.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def newcomer(
    kafka: KafkaEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Newcomer]:
    # The keys the README's own `cxbroker keys init` line makes (the SDK snippet that needs
    # them comes first in the README).
    keys_line = next(c for b in BLOCKS for c in b.commands() if c.startswith("cxbroker keys init"))
    keys = tuple(keys_line.split()[1:])
    yield await newcomer_on(kafka, tmp_path_factory, prefix="", keys=keys)


@pytest.fixture(scope="module")
def workdir(newcomer: Newcomer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("readme")
    shutil.copy(newcomer.records / "ssa.csv", work / "records.csv")
    (work / "contracts").symlink_to(REPO / "contracts")
    return work


def _env(newcomer: Newcomer, block: Block) -> dict[str, str]:
    env = newcomer.env(block.profile)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    return env


def _argvs(block: Block) -> list[list[str]]:
    if block.language == "python":
        return [[sys.executable, "-c", block.text]]
    return [["bash", "-e", "-c", command] for command in block.commands()]


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_readme_block_runs(block: Block, newcomer: Newcomer, workdir: Path) -> None:
    env = _env(newcomer, block)
    for argv in _argvs(block):
        shown = argv[-1].splitlines()[0]
        process = subprocess.Popen(
            argv, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            _, err = process.communicate(timeout=FOLLOW_S if block.follows else 300)
        except subprocess.TimeoutExpired:
            assert block.follows, f"{shown}: did not finish"
            process.terminate()
            _, err = process.communicate(timeout=30)
        else:
            assert process.returncode == 0, f"{shown}: exit {process.returncode}: {err[-1500:]}"
        assert "Traceback" not in err, f"{shown}: {err[-1500:]}"
        assert "cxbroker: error" not in err, f"{shown}: {err[-500:]}"
