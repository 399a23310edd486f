"""Every runnable README block, run as a newcomer would: on the session's secured broker, and
on a plain one-node cluster of this module's own (``kafka up --security none``) (#21, 6).

Blocks run in a scratch directory holding ``records.csv`` (simulated SSA records) and a link
to the repository's ``contracts/``, with ``.venv/bin`` on PATH and a newcomer's state dir
(no topic prefix: the README's names are literal). Opting out is visible in the README
(``<!-- readme-test: skip: ... -->``, ``<!-- readme-test: secured-only: ... -->``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from broker.kafka.config import ClusterSecurity
from broker.kafka.launcher import LocalKafka
from broker.settings import Settings
from tests.readme_blocks import Block, readme_blocks
from tests.support.kafka import KafkaEndpoint
from tests.support.newcomer import Newcomer, newcomer_on
from tests.support.paths import REPO

pytestmark = pytest.mark.kafka

BLOCKS = [b for b in readme_blocks(REPO / "README.md") if not b.skip]
PLAIN_BLOCKS = [b for b in BLOCKS if not b.secured_only]
#: Seconds a following command must keep running without failing.
FOLLOW_S = 12.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def newcomer(
    kafka: KafkaEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Newcomer]:
    yield await newcomer_on(kafka, tmp_path_factory, prefix="", keys=_readme_keys())


def _readme_keys() -> tuple[str, ...]:
    """The keys the README's own `cxbroker keys init` line makes (the SDK snippet that needs
    them comes first in the README)."""
    keys_line = next(c for b in BLOCKS for c in b.commands() if c.startswith("cxbroker keys init"))
    return tuple(keys_line.split()[1:])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def plain_newcomer(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Newcomer]:
    """A newcomer with a plain one-node cluster of its own: `kafka up --security none`, then
    the README's `cxbroker init` and keys line."""
    state = tmp_path_factory.mktemp("plain-state")
    async with LocalKafka(Settings(state_dir=state), nodes=1, security=ClusterSecurity.NONE):
        who = Newcomer(state, "", tmp_path_factory.mktemp("plain-records"))
        for args in (
            ("init",),
            _readme_keys(),
            ("simulate", "--journeys", "20", "--out", str(who.records)),
        ):
            done = who.run(*args)
            assert done.returncode == 0, done.stderr
        yield who


def _workdir(newcomer: Newcomer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("readme")
    shutil.copy(newcomer.records / "ssa.csv", work / "records.csv")
    (work / "contracts").symlink_to(REPO / "contracts")
    return work


@pytest.fixture(scope="module")
def workdir(newcomer: Newcomer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _workdir(newcomer, tmp_path_factory)


@pytest.fixture(scope="module")
def plain_workdir(plain_newcomer: Newcomer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _workdir(plain_newcomer, tmp_path_factory)


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
    _run(block, newcomer, workdir)


@pytest.mark.parametrize("block", PLAIN_BLOCKS, ids=[b.name for b in PLAIN_BLOCKS])
def test_readme_block_runs_on_a_plain_cluster(
    block: Block, plain_newcomer: Newcomer, plain_workdir: Path
) -> None:
    _run(block, plain_newcomer, plain_workdir)


def _run(block: Block, newcomer: Newcomer, workdir: Path) -> None:
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
