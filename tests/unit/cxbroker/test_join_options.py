"""The joiner's configuration surface (constructor and ``cxbroker join`` options), no Kafka."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.settings import Settings
from consumers.joiner.engine import Joiner
from consumers.joiner.validate import TimeBounds
from cxbroker.commands.join import join


def test_session_timeout_defaults_to_ten_seconds_and_is_configurable(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    assert Joiner(settings).session_timeout_ms == 10_000
    assert Joiner(settings, session_timeout_ms=6_000).session_timeout_ms == 6_000
    with pytest.raises(ValueError, match="session_timeout_ms"):
        Joiner(settings, session_timeout_ms=10)


def test_time_bounds_default_to_a_day_ahead_and_ten_years_behind(tmp_path: Path) -> None:
    bounds = Joiner(Settings(state_dir=tmp_path)).time_bounds
    assert bounds == TimeBounds(timedelta(days=1), timedelta(days=3650))


def test_join_help_lists_the_new_options() -> None:
    result = CliRunner().invoke(join, ["--help"])
    assert result.exit_code == 0
    for option in ("--session-timeout", "--max-ahead", "--max-behind"):
        assert option in result.output
    bad = CliRunner().invoke(join, ["--session-timeout", "0.5"])
    assert bad.exit_code == 2 and "--session-timeout" in bad.output
