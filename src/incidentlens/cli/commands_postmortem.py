"""`incidentlens postmortem` and `incidentlens status-update`: referenced reports from the ledger."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import typer

from incidentlens.cli.actors import config_option, load, workflow_db
from incidentlens.cli.app import app, err, settings
from incidentlens.errors import InputError
from incidentlens.report.render_reports import ReportFormat, render_postmortem, render_status_update
from incidentlens.store.database import DATABASE_FILE
from incidentlens.workflow.reports import load_postmortem, load_status_update, report_settings

TEMPLATES_HELP = "Folder with your own templates; a file named like a built-in one replaces it (docs/postmortem.md)."


def _require_database() -> None:
    """Reports read recorded incidents: do not create an empty database just to say the incident is unknown."""
    if settings.database_url is None and not (settings.workspace / DATABASE_FILE).exists():
        raise InputError(
            f"no workflow database in {settings.workspace}: record an investigation first "
            "(incidentlens investigate) or give --database-url"
        )


def _emit(text: str, out_file: Path | None, what: str) -> None:
    """Print, or write the whole file or nothing (a temporary file renamed into place)."""
    if out_file is None:
        sys.stdout.write(text)
        return
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out_file.name}.", dir=out_file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, out_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError(f"cannot write {out_file}: {exc.strerror or exc}") from None
    err.print(f"{what} written to {out_file}")


@app.command("postmortem")
def postmortem_cmd(
    incident: str = typer.Argument(..., help="Incident id, e.g. INC-0001."),
    fmt: ReportFormat = typer.Option(ReportFormat.MARKDOWN, "--format", help="md or html."),
    out_file: Path | None = typer.Option(None, "--out", help="Write the draft to this file."),
    templates: Path | None = typer.Option(None, "--templates", help=TEMPLATES_HELP),
    slo: float | None = typer.Option(
        None, "--slo", help="Availability SLO target in percent for the error budget (default 99.9, or slo.target)."
    ),
    config: Path | None = config_option(),
) -> None:
    """A postmortem draft from the ledger and the timeline; every line cites evidence or an audit entry."""
    chosen = report_settings(load(config), templates_dir=templates, slo_target=slo)
    _require_database()
    with workflow_db() as db:
        pm = load_postmortem(db, incident_id=incident, now=datetime.now(UTC), slo=chosen.slo)
    text = render_postmortem(pm, fmt, templates_dir=chosen.templates_dir)
    if pm.dropped:
        err.print(f"note: {pm.dropped} fact(s) without an evidence record or audit entry were left out")
    _emit(text, out_file, "postmortem draft")


@app.command("status-update")
def status_update_cmd(
    incident: str = typer.Argument(..., help="Incident id, e.g. INC-0001."),
    fmt: ReportFormat = typer.Option(ReportFormat.MARKDOWN, "--format", help="md or html."),
    next_update: int = typer.Option(30, "--next-update", min=1, help="Minutes until the next update is promised."),
    out_file: Path | None = typer.Option(None, "--out", help="Write the update to this file."),
    templates: Path | None = typer.Option(None, "--templates", help=TEMPLATES_HELP),
    config: Path | None = config_option(),
) -> None:
    """For stakeholders, at any time: what we know, what we are doing, when the next update comes."""
    chosen = report_settings(load(config), templates_dir=templates)
    _require_database()
    with workflow_db() as db:
        su = load_status_update(db, incident_id=incident, now=datetime.now(UTC), next_update_minutes=next_update)
    _emit(render_status_update(su, fmt, templates_dir=chosen.templates_dir), out_file, "status update")
