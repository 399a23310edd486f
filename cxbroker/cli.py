"""The ``cxbroker`` command line.

Sub-commands live next to the code they drive and are imported lazily, so
``cxbroker kafka status`` does not pay for importing the joiner.
Every :class:`~contracts.errors.CxError` becomes one line on stderr and the
exit code of its kind (:mod:`cxbroker.exitcodes`); user mistakes never print a traceback.
A pydantic :class:`~pydantic.ValidationError` that reaches the roof (a ``CX_*`` setting, a
file the command reads) is printed the same way, as field paths and rules only: its own
``str()`` would quote every input value.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from typing import Any

import click
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from broker.errors import BrokerUnavailable
from broker.lifeline import follow_parent
from broker.observe.logs import configure_logging, log_format
from broker.security.probe import authentication_failure, looks_unreachable
from broker.security.profile import load_settings
from contracts.errors import CxError, describe_validation_error
from cxbroker.exitcodes import ExitCode, exit_code_for

__all__ = ["main"]

# name -> "module:attribute" of a click command or group.
COMMANDS: dict[str, str] = {
    "kafka": "cxbroker.commands.kafka:kafka",
    "init": "cxbroker.commands.init:init",
    "demo": "cxbroker.commands.demo:demo",
    "access": "cxbroker.commands.access:access",
    "catalog": "cxbroker.commands.catalog:catalog",
    "doctor": "cxbroker.commands.access:check",
    "join": "cxbroker.commands.join:join",
    "lag": "cxbroker.commands.lag:lag",
    "tail": "cxbroker.commands.tail:tail",
    "contracts": "cxbroker.commands.contracts:contracts",
    "keys": "cxbroker.commands.keys:keys",
    "publish": "cxbroker.commands.publish:publish",
    "simulate": "cxbroker.commands.simulate:simulate",
    "insights": "cxbroker.commands.insights:insights",
    "privacy": "cxbroker.commands.privacy:privacy",
    "bench": "cxbroker.commands.bench:bench",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        # The Kafka client logs refusals and connection failures itself; commands report
        # them as one line (`join` sets up its own log).
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
        try:
            try:
                return super().invoke(ctx)
            except (CxError, KafkaError) as exc:
                explained = _explained(exc)
                if explained is exc:
                    raise
                raise explained from exc
        except CxError as exc:
            click.secho(f"cxbroker: error: {exc}", fg="red", err=True)
            sys.exit(exit_code_for(exc))
        except ValidationError as exc:
            described = describe_validation_error(exc, exc.title).args[0]
            described = described.replace("violates its contract", "is invalid", 1)
            click.secho(f"cxbroker: error: {described}", fg="red", err=True)
            sys.exit(ExitCode.USAGE)


def _explained(exc: CxError | KafkaError) -> CxError:
    """``exc`` as the one line to print: a failure that reads like an outage is probed with
    the command's ``CX_*`` settings, since aiokafka reports a refused login (wrong password,
    unknown user, SASL mechanism, TLS trust) as an unreachable broker (exit 5, not 4)."""
    if looks_unreachable(exc):
        try:
            refused = asyncio.run(authentication_failure(load_settings()))
        except (CxError, ValidationError):
            refused = None
        if refused is not None:
            return refused
    if isinstance(exc, CxError):
        return exc
    if looks_unreachable(exc):
        return BrokerUnavailable(f"cannot reach Kafka ({type(exc).__name__})")
    return CxError(f"Kafka refused the request ({type(exc).__name__})")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cx-broker", prog_name="cxbroker")
def main() -> None:
    """cx-broker: share de-identified customer-experience events between agencies over Kafka."""
    follow_parent()
    if log_format() == "json":  # CX_LOG_FORMAT=json: every command's log records as JSON lines
        configure_logging(logging.WARNING)
