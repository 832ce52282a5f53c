"""`incidentlens metrics`: MTTA, MTTU, MTTO, MTTM, MTTR and reassignments, with open incidents apart."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from incidentlens.cli.actors import duration, workflow_db
from incidentlens.cli.app import app, out
from incidentlens.errors import InputError
from incidentlens.store.lifecycle_repository import all_facts
from incidentlens.workflow.metrics import DEFINITIONS, Metric, MetricsReport, summarise

_HELP = (
    "Incident response times, per incident and aggregated (count, median, p90).\n\n"
    "Every duration starts at detected (alert start):\n\n"
    + "\n\n".join(f"{m.value.upper()}: {text}." for m, text in DEFINITIONS.items())
    + "\n\nReassignments: changes of owner after the first assignment (misroutes)."
    "\n\nAggregates cover resolved and closed incidents only; open incidents are listed separately "
    "with the milestones reached so far. p90 is nearest-rank. See docs/workflow.md."
)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"--since {value!r} is not a date (YYYY-MM-DD) or ISO datetime") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@app.command("metrics", help=_HELP)
def metrics_cmd(
    since: str | None = typer.Option(None, "--since", help="Only incidents detected at or after DATE (UTC)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (durations in seconds)."),
) -> None:
    with workflow_db() as db, db.session(readonly=True) as session:
        facts = all_facts(session, since=_since(since))
    report = summarise(facts)
    if as_json:
        sys.stdout.write(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    _print(report)


def _print(report: MetricsReport) -> None:
    scope = f" detected since {report.since:%Y-%m-%d %H:%M}" if report.since else ""
    out.print(f"{len(report.finished)} resolved or closed incident(s){scope}; {len(report.open)} open (apart)")
    table = Table("metric", "count", "median", "p90", "definition")
    for metric in Metric:
        s = report.aggregates[metric]
        table.add_row(metric.value.upper(), str(s.count), duration(s.median), duration(s.p90), DEFINITIONS[metric])
    r = report.reassignments
    median = f"{r.median:g}" if r.median is not None else "-"
    p90 = f"{r.p90:g}" if r.p90 is not None else "-"
    table.add_row("reassign.", str(r.count), median, p90, "changes of owner after the first assignment")
    out.print(table)
    for title, rows in (("resolved or closed", report.finished), ("open (not in the aggregates)", report.open)):
        if not rows:
            continue
        per = Table("incident", "status", *(m.value.upper() for m in Metric), "reassign.", "owner", title=title)
        for m in rows:
            per.add_row(
                m.incident_id,
                m.status.value,
                *(duration(m.durations[k]) for k in Metric),
                str(m.reassignments),
                escape(m.owner or "-"),
            )
        out.print(per)
