"""A newcomer's state dir on the session's secured local cluster (#21 tests).

It shares the session cluster's record (``kafka/``) and the principals' credentials (so
no password of the session's users changes), and has its own spools, keys and topic prefix,
provisioned with the access plan as the admin.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from broker.admin import admin_client
from broker.kafka.config import ClusterSecurity
from broker.provision import provision
from broker.security.credentials import ensure_credential
from broker.security.plan import expand_plan, load_plan
from broker.security.profile import load_settings
from broker.security.scram import upsert_users
from contracts.catalog import load_catalog
from producers.spool import Spool
from tests.support.kafka import KafkaEndpoint

__all__ = ["Newcomer", "newcomer_on"]


@dataclass
class Newcomer:
    """A state dir on the session's secured cluster, and the CLI run from it."""

    state_dir: Path
    prefix: str
    records: Path

    def env(self, profile: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
        env.update(CX_STATE_DIR=str(self.state_dir), CX_TOPIC_PREFIX=self.prefix)
        if profile:
            env["CX_PROFILE"] = profile
        return env

    def run(self, *args: str, profile: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cxbroker", *args],
            env=self.env(profile),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def spooled(self) -> int:
        """Records waiting in every agency's outage spool of this state dir."""
        total = 0
        for directory in sorted((self.state_dir / "spool").glob("*")):
            spool = Spool(directory).open()
            try:
                total += len(spool)
            finally:
                spool.close()
        return total


async def newcomer_on(
    kafka: KafkaEndpoint,
    tmp_path_factory: pytest.TempPathFactory,
    prefix: str | None = None,
    keys: tuple[str, ...] = ("keys", "init"),
) -> Newcomer:
    """A newcomer on ``kafka``: topics and access plan under a fresh prefix, keys made with
    the ``keys`` command, and simulated per-agency CSV files in ``records``."""
    assert kafka.local is not None, "these tests need the session's own local cluster"
    assert kafka.local.state.security != ClusterSecurity.NONE.value, "and a secured one"
    session_state = kafka.local.settings.state_dir
    state = tmp_path_factory.mktemp("newcomer")
    # The session cluster's record and the principals' credentials, shared (no new
    # passwords for the session's users); spools and keys of this test's own.
    (state / "kafka").symlink_to(session_state / "kafka")
    (session_state / "credentials").mkdir(exist_ok=True)
    (state / "credentials").symlink_to(session_state / "credentials")
    prefix = f"t21-{uuid.uuid4().hex[:6]}." if prefix is None else prefix
    admin = load_settings(state_dir=state, topic_prefix=prefix, profile="admin")
    await provision(admin)
    # The session's passwords are the ones this newcomer holds: set them again on the
    # cluster, in case an earlier test module gave the plan's users passwords of its own.
    agencies = [a.id for a in load_catalog().agencies]
    async with admin_client(admin) as client:
        await upsert_users(
            client, [ensure_credential(state, n) for n in expand_plan(load_plan(), agencies)]
        )
    who = Newcomer(state, prefix, tmp_path_factory.mktemp("records"))
    for args in (keys, ("simulate", "--journeys", "20", "--out", str(who.records))):
        done = who.run(*args)
        assert done.returncode == 0, done.stderr
    return who
