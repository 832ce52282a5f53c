"""`incidentlens ingest` and `incidentlens formats`."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from incidentlens.cli.app import app, err, out, settings
from incidentlens.cli.progress import ingest_progress
from incidentlens.ingest.registry import all_readers
from incidentlens.ingest.runner import IngestReport, ingest_paths
from incidentlens.telemetry.store import TelemetryStore


def report_dict(report: IngestReport) -> dict[str, object]:
    return {
        "rows": report.rows,
        "problem_count": report.problem_count,
        "files": [
            {
                "path": f.path,
                "format": f.format,
                "rows": {k: v for k, v in f.rows.items() if v},
                "problem_count": f.problem_count,
                "problems": [str(p) for p in f.problems],
            }
            for f in report.files
        ],
        "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
    }


def print_report(report: IngestReport) -> None:
    table = Table("file", "format", "rows", "problems", title="ingested", title_justify="left")
    for f in report.files:
        rows = ", ".join(f"{k} {v}" for k, v in f.rows.items() if v) or "0"
        table.add_row(escape(f.path), f.format, rows, str(f.problem_count))
    out.print(table)
    for f in report.files:
        for p in f.problems[:5]:
            err.print(f"[yellow]warning:[/] {escape(str(p))}", highlight=False)
        if f.problem_count > 5:
            err.print(f"[yellow]warning:[/] {escape(f.path)}: {f.problem_count - 5} more problems", highlight=False)
    for path, reason in report.skipped:
        err.print(f"skipped {escape(path)}: {reason}", highlight=False)
    totals = ", ".join(f"{k} {v}" for k, v in report.rows.items() if v) or "nothing"
    out.print(f"total: {totals}; {report.problem_count} bad records reported")


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders of telemetry (any supported format)."),
    format: str | None = typer.Option(None, "--format", "-f", help="Force a reader instead of detecting."),
    as_json: bool = typer.Option(False, "--json", help="Print the ingest report as JSON."),
) -> None:
    """Load telemetry files into the workspace store. All or nothing: a failing file changes nothing."""
    with TelemetryStore.in_workspace(settings.workspace) as store, ingest_progress(not as_json) as progress:
        report = ingest_paths(paths, store, forced_format=format, progress=progress)
    if as_json:
        out.print_json(orjson.dumps(report_dict(report)).decode())
    else:
        print_report(report)


@app.command()
def formats(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List the input formats IncidentLens reads (detected from content)."""
    readers = all_readers()
    if as_json:
        out.print_json(orjson.dumps([{"name": r.name, "signals": list(r.signals)} for r in readers]).decode())
        return
    table = Table("format", "signals")
    for r in readers:
        table.add_row(r.name, ", ".join(r.signals))
    out.print(table)
