"""`incidentlens investigate` and `incidentlens demo`."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.markdown import Markdown

from incidentlens.cli.app import app, err, out, settings
from incidentlens.cli.progress import ingest_progress
from incidentlens.errors import InputError
from incidentlens.ingest.runner import ingest_paths
from incidentlens.memory.retrieve import Recall
from incidentlens.model import Severity
from incidentlens.pipeline import Investigation, default_repo_locator, investigate
from incidentlens.report.render import OutputFormat, render
from incidentlens.telemetry.store import TelemetryStore


def _collect_inputs(
    bundle: Path | None,
    logs: list[Path],
    traces: list[Path],
    metrics: list[Path],
    alert: list[Path],
    changes: list[Path],
) -> list[Path]:
    paths = [*logs, *traces, *metrics, *alert, *changes]
    if bundle is not None:
        paths.insert(0, bundle)
    return paths


def run_investigation(
    paths: list[Path], repo: Path | None, *, show_progress: bool, recall: Recall | None = None
) -> Investigation:
    """Ingest the given inputs into a private in-memory store and investigate them."""
    with TelemetryStore() as store:
        with ingest_progress(show_progress) as progress:
            report = ingest_paths(paths, store, progress=progress)
        notes = tuple(f"{f.path}: {f.problem_count} bad records skipped" for f in report.files if f.problem_count)
        locator = default_repo_locator(repo) if repo is not None else None
        return investigate(store, locator=locator, inputs=store.counts(), notes=notes, recall=recall)


def _memory_recall() -> Recall | None:
    """Similar-incident lookup over the workflow database's memory, when there is a database to read."""
    from incidentlens.cli.commands_memory import database_available, open_memory_database
    from incidentlens.memory.indexing import load_index
    from incidentlens.memory.retrieve import recaller

    if not database_available():
        return None
    db = open_memory_database()
    try:
        index = load_index(db)
    finally:
        db.dispose()
    return recaller(index) if len(index) else None


def _record(result: Investigation, workspace: Path, inputs: dict[str, Any]) -> str | None:
    from incidentlens.report.render import render_json
    from incidentlens.store.database import open_database
    from incidentlens.workflow.investigations import record_investigation

    db = open_database(settings.database_url, workspace=workspace)
    try:
        brief = result.brief
        top = result.hypotheses[0] if result.hypotheses else None
        recorded = record_investigation(
            db,
            title=brief.title,
            service=top.service if top else None,
            severity=Severity(brief.severity) if brief.severity in set(Severity) else Severity.UNKNOWN,
            detected_ns=brief.alert_ns or brief.onset_ns,
            alert_fingerprint=brief.alert_fingerprint,
            evidence=list(result.evidence.values()),
            hypotheses=list(result.hypotheses),
            brief_json=render_json(brief),
            workspace=str(workspace),
            inputs=inputs,
        )
        return recorded.incident_id
    finally:
        db.dispose()


def emit(text: str, fmt: OutputFormat, out_file: Path | None) -> None:
    if out_file is not None:
        try:
            out_file.parent.mkdir(parents=True, exist_ok=True)
            out_file.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {out_file}: {exc.strerror}") from None
        err.print(f"brief written to {out_file}")
    elif fmt is OutputFormat.TEXT and out.is_terminal:
        out.print(Markdown(text))
    else:
        sys.stdout.write(text)


@app.command(name="investigate")
def investigate_cmd(
    bundle: Path | None = typer.Argument(None, help="A bundle folder (any mix of formats, optional repo/)."),
    logs: list[Path] = typer.Option([], "--logs", help="Log files or folders."),
    traces: list[Path] = typer.Option([], "--traces", help="Trace files or folders."),
    metrics: list[Path] = typer.Option([], "--metrics", help="Metric files or folders."),
    alert: list[Path] = typer.Option([], "--alert", help="Alert payloads (Alertmanager, PagerDuty)."),
    changes: list[Path] = typer.Option([], "--changes", help="Change events (deploys, config, flags)."),
    repo: Path | None = typer.Option(None, "--repo", help="Git repository of the services' code."),
    fmt: OutputFormat = typer.Option(OutputFormat.TEXT, "--format", help="Output format."),
    out_file: Path | None = typer.Option(None, "--out", help="Write the brief to this file."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    record: bool = typer.Option(
        True, "--record/--no-record", help="Record the investigation in the workflow database."
    ),
    memory: bool = typer.Option(
        True, "--memory/--no-memory", help="Look up similar resolved incidents in the workflow database."
    ),
) -> None:
    """Investigate telemetry and print the incident brief: ranked hypotheses with their evidence."""
    paths = _collect_inputs(bundle, logs, traces, metrics, alert, changes)
    if not paths:
        raise InputError("nothing to investigate: give a bundle folder or --logs/--traces/--metrics/--alert/--changes")
    if repo is None and bundle is not None and (bundle / "repo" / ".git").exists():
        repo = bundle / "repo"
    fmt = OutputFormat.JSON if as_json else fmt
    recall = _memory_recall() if memory else None
    result = run_investigation(paths, repo, show_progress=fmt is OutputFormat.TEXT, recall=recall)
    if record:
        incident_id = _record(result, settings.workspace, dict(result.brief.inputs))
        if incident_id:
            err.print(f"recorded as {incident_id} in {settings.database_url or settings.workspace}")
    emit(render(result.brief, fmt), fmt, out_file)


@app.command()
def demo(
    as_json: bool = typer.Option(False, "--json", help="Print the brief as JSON with the scenario's truth."),
    fault: str | None = typer.Option(None, "--fault", help="Scenario to simulate (default: the demo's)."),
    seed: int = typer.Option(7, "--seed", help="Random seed of the simulation."),
) -> None:
    """Simulate the demo incident into a temporary folder, investigate it and print the brief."""
    from incidentlens.simulate import DEFAULT_FAULT, simulate

    with tempfile.TemporaryDirectory(prefix="incidentlens-demo-") as tmp:
        bundle = Path(tmp) / "bundle"
        truth = simulate(fault or DEFAULT_FAULT, seed=seed, out=bundle)
        result = run_investigation([bundle], bundle / "repo", show_progress=not as_json)
        truth_data = orjson.loads((bundle / "truth.json").read_bytes())
    if as_json:
        sys.stdout.write(render(result.brief, OutputFormat.JSON, extra={"truth": truth_data}))
        return
    emit(render(result.brief, OutputFormat.MARKDOWN), OutputFormat.TEXT, None)
    top = result.hypotheses[0].service if result.hypotheses else "none"
    verdict = "matches" if top == truth.service else "does not match"
    err.print(f"demo scenario '{truth.fault}': true root cause {truth.service}; top hypothesis {top} ({verdict})")
