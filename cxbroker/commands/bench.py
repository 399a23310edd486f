"""``cxbroker bench``: the benchmarks of issue 8 (figures only, nothing is asserted).

The benchmark code lives in the top-level ``bench`` package of the source checkout. When
the installed distribution does not ship it, the checkout this module sits in is put on
``sys.path`` (benchmarks are run from a checkout, never from a wheel).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from types import ModuleType

import click
from rich.console import Console

from broker.errors import CxError
from broker.security.profile import operator_settings
from broker.settings import Settings

__all__ = ["bench", "load_bench"]

QUICK_EVENTS = 2000


def load_bench() -> ModuleType:
    """Import ``bench.runner`` (from the checkout when it is not installed)."""
    try:
        return importlib.import_module("bench.runner")
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", "bench.runner"):
            raise
    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / "bench" / "runner.py").exists():
        raise CxError("the bench package is not available; run cxbroker bench from a checkout")
    sys.path.insert(0, str(checkout))
    return importlib.import_module("bench.runner")


def _sections(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


@click.command()
@click.option("--quick", is_flag=True, help="Small counts (a smoke run of every section).")
@click.option(
    "--events",
    type=int,
    default=None,
    help=(
        "Events per publish/join/scale run (default 100,000; in much shorter runs start-up"
        " costs dominate the rates)."
    ),
)
@click.option(
    "--sections",
    default="publish,join,latency,memory,scale",
    show_default=True,
    help="Comma-separated sections to run.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("bench/results"),
    show_default=True,
    help="Directory of the <UTC timestamp>.json results.",
)
@click.option(
    "--max-journeys",
    type=int,
    default=None,
    help="Largest open-journey step of the memory section (default 100000 of the steps "
    "10k/100k/1M; 1000000 runs all; with --quick the steps are N/3 and N, default 3000).",
)
@click.option("--latency-rate", type=float, default=1000.0, show_default=True)
@click.option(
    "--latency-seconds",
    type=float,
    default=None,
    help="Measured seconds at the steady rate. Default 30 (5 with --quick).",
)
@click.option(
    "--latency-warmup",
    type=float,
    default=None,
    help="Seconds at the same rate before measuring, summarized apart. Default 5 (1 with --quick).",
)
@click.option("--partitions", type=int, default=6, show_default=True)
@click.option(
    "--profile",
    "profile_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write pyinstrument profiles of the publisher and the joiner here.",
)
@click.option(
    "--keep-topics",
    is_flag=True,
    help="Leave each section's topics on the broker (default: deleted when it ends).",
)
@click.option("--seed", type=int, default=7, show_default=True)
def bench(
    quick: bool,
    events: int | None,
    sections: str,
    out: Path,
    max_journeys: int | None,
    latency_rate: float,
    latency_seconds: float | None,
    latency_warmup: float | None,
    partitions: int,
    profile_dir: Path | None,
    keep_topics: bool,
    seed: int,
) -> None:
    """Benchmark publish, join, latency, memory growth and scale against one Kafka cluster.

    Uses CX_BOOTSTRAP_SERVERS or the cluster `cxbroker kafka up` started; every section
    gets fresh topics under a unique prefix, deleted when it ends. Prints a table and
    writes OUT/<timestamp>.json.
    """
    import logging

    # Retried sends on fresh topics and rebalances are expected here; keep the table readable.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    runner = load_bench()
    # On a secured local cluster the benchmark acts as its operator (admin), as `init` does.
    settings = operator_settings(Settings())
    security = runner.security_fields(settings)
    if quick:
        largest = max_journeys or 3_000
        steps: tuple[int, ...] = tuple(sorted({max(1, largest // 3), largest}))
        config = runner.BenchConfig(
            bootstrap=settings.resolved_bootstrap(),
            events=events or QUICK_EVENTS,
            sections=_sections(sections),
            partitions=partitions,
            latency_rate=latency_rate,
            latency_seconds=latency_seconds if latency_seconds is not None else 5.0,
            latency_warmup=latency_warmup if latency_warmup is not None else 1.0,
            journey_steps=steps,
            max_journeys=largest,
            memory_measure_events=min(500, largest),
            seed=seed,
            profile_dir=profile_dir,
            keep_topics=keep_topics,
            quick=True,
            security=security,
        )
    else:
        config = runner.BenchConfig(
            bootstrap=settings.resolved_bootstrap(),
            events=events or 100_000,
            sections=_sections(sections),
            partitions=partitions,
            latency_rate=latency_rate,
            latency_seconds=latency_seconds if latency_seconds is not None else 30.0,
            latency_warmup=latency_warmup if latency_warmup is not None else 5.0,
            max_journeys=max_journeys or 100_000,
            seed=seed,
            profile_dir=profile_dir,
            keep_topics=keep_topics,
            security=security,
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=130)  # piped (make bench | tee): keep rows on one line
    results = asyncio.run(runner.run_bench(config, Console(stderr=True)))
    path = runner.write_results(results, out)
    console.print(runner.render_table(results))
    console.print(f"results: {path}")
