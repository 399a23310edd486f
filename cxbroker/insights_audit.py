"""``cxbroker insights audit``: the disclosure audit of the recorded releases.

For every week with releases in the insights service's history, the exact audit of all of
them together (:func:`consumers.insights.audit.audit`, ``mode="exact"``) and, per
suppressed cell of the chosen releases, whether the protection rule holds and the class of
the interval's width: never a value, never an interval's ends. Exits non-zero when a
release fails the rule (it could not have been published: it was audited before it was).
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from broker.security.profile import load_settings
from consumers.errors import InsightsError
from consumers.insights.aggregate import ALL, CellKey
from consumers.insights.audit import (
    SUPPRESSED,
    AuditReport,
    Finding,
    ProtectionRule,
    TargetKind,
    audit,
)
from consumers.insights.release.history import History, PastRelease
from consumers.insights.release.plan import audit_history
from contracts.catalog import load_catalog
from contracts.errors import UnknownEntry
from contracts.insights import SuppressionReason

__all__ = ["audit_command", "audit_table"]


def _place(key: object) -> str:
    if not isinstance(key, CellKey):
        return "derived group (hidden)"
    where = f"{key.period} {key.agency if key.agency != ALL else 'all'}"
    where += f" {key.stage if key.stage != ALL else 'all'} {key.metric.value}"
    return where + (f" -> {key.to_agency}" if key.to_agency else "")


def audit_table(release: PastRelease, report: AuditReport, *, every_target: bool = False) -> Table:
    """Per suppressed cell of ``release`` (every target with ``every_target``): target,
    suppression reason, rule verdict and width class."""
    reasons = {cell.key(): cell.reason for cell in release.published if cell.suppressed}
    rid, le = release.manifest.release, release.manifest.life_experience
    table = Table(
        title=f"audit of {release.manifest.life_experience} {rid}",
        caption=(
            f"{len(report.findings)} targets over all releases of the week, "
            f"{len(report.violations)} violations, {report.solves} solves "
            f"({report.mip_solves} integer), {report.seconds:.2f} s"
        ),
    )
    for column in ("cell", "target", "suppressed because", "rule", "interval width"):
        table.add_column(column, overflow="fold")
    suppressed = {k for k, v in release.cells.items() if v is SUPPRESSED and isinstance(k, CellKey)}
    for finding in report.findings:
        target = finding.target
        if target.release_id != rid:
            continue
        if (
            not every_target
            and not (target.kind is TargetKind.CELL and target.key in suppressed)
            and not (target.kind is TargetKind.MEAN and isinstance(target.key, CellKey))
        ):
            continue
        table.add_row(
            _place(target.key),
            _kind(finding),
            _reason(le, target.key, reasons),
            "passed" if finding.protected else "FAILED",
            finding.width_class(report.rule),
        )
    return table


def _reason(le: str, key: object, reasons: dict[str, SuppressionReason | None]) -> str:
    if not isinstance(key, CellKey):
        return ""
    reason = reasons.get(_cell_key(le, key))
    return "" if reason is None else reason.value


def _kind(finding: Finding) -> str:
    kind = finding.target.kind
    if kind is TargetKind.DELTA:
        return f"change since {finding.target.previous}"
    return "mean" if kind is TargetKind.MEAN else "count"


def _cell_key(life_experience: str, key: CellKey) -> str:
    """The Kafka key of the published cell at ``key`` (``InsightCell.key()``)."""
    parts = [life_experience, key.period, key.agency, key.stage, key.metric.value]
    return "|".join([*parts, key.to_agency] if key.to_agency else parts)


@click.command("audit")
@click.option("--life-experience", "-l", "life_experiences", multiple=True, metavar="ID")
@click.option("--week", "weeks", multiple=True, metavar="YYYY-Www", help="Only these weeks.")
@click.option("--release", "release_ids", multiple=True, metavar="ID", help="Only these releases.")
@click.option("--all-targets", is_flag=True, help="Every target, not only suppressed cells.")
def audit_command(
    life_experiences: tuple[str, ...],
    weeks: tuple[str, ...],
    release_ids: tuple[str, ...],
    all_targets: bool,
) -> None:
    """The disclosure audit of the recorded releases: per suppressed cell, the protection
    rule's verdict and the width class of what an attacker can derive (no values)."""
    catalog = load_catalog()
    try:
        chosen = [catalog.life_experience(i) for i in life_experiences] or list(
            catalog.life_experiences
        )
    except UnknownEntry as exc:
        raise InsightsError(f"unknown life experience: {exc}") from None
    history = History(load_settings().state_dir / "insights")
    out = Console() if sys.stdout.isatty() else Console(width=250, soft_wrap=True)
    rule = ProtectionRule()
    out.print(f"protection rule: {rule.describe()}")
    failed = 0
    audited = 0
    for le in chosen:
        folder = history.directory / le.id
        found = sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []
        for week in found:
            if weeks and week not in weeks:
                continue
            past = history.releases(le.id, week)
            truth = {p.manifest.release: p.truth for p in past}
            report = audit(audit_history(past, le), truth, rule, mode="exact")
            audited += 1
            failed += not report.passed
            for record in past:
                if release_ids and record.manifest.release not in release_ids:
                    continue
                out.print(audit_table(record, report, every_target=all_targets))
    if not audited:
        out.print("no recorded releases (run `cxbroker insights --compute` first)")
    if failed:
        raise InsightsError(f"{failed} week(s) fail the protection rule")
