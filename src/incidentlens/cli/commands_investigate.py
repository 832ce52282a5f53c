"""`incidentlens investigate` and `incidentlens demo`: build an investigation request, run it, print the brief."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import typer

from incidentlens.assist.brief import narrate_if_asked
from incidentlens.assist.incidents import record_egress
from incidentlens.cli.actors import config_option, load, workflow_db
from incidentlens.cli.app import app, err, out, settings
from incidentlens.cli.progress import status_progress
from incidentlens.errors import ConfigError, InputError
from incidentlens.investigation import InvestigationRequest, InvestigationResult, TimeWindow, run, run_on_store
from incidentlens.investigation.times import parse_cli_time
from incidentlens.memory.retrieve import Recall
from incidentlens.report.brief import Brief
from incidentlens.report.render import OutputFormat, render
from incidentlens.report.render_text import brief_renderables
from incidentlens.sources.config import parse_sources
from incidentlens.sources.files import FileSource
from incidentlens.sources.protocol import Source
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.store import TELEMETRY_FILE, TelemetryStore


def configured_sources(names: list[str], config: Path | None) -> list[Source]:
    """The sources named on the command line, from the settings file's `sources:` section."""
    if not names:
        return []
    loaded = load(config)
    where = str(loaded.path) if loaded.path is not None else "settings"
    base = loaded.path.parent if loaded.path is not None else None
    available = parse_sources(loaded.raw.get("sources"), where=where, base=base)
    unknown = [n for n in names if n not in available]
    if unknown:
        known = ", ".join(sorted(available)) or "none (add a 'sources:' section to the settings file)"
        raise ConfigError(f"unknown source(s) {', '.join(unknown)}; configured in {where}: {known}")
    return [build_source(available[n]) for n in dict.fromkeys(names)]


def memory_recall() -> Recall | None:
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


def record(result: InvestigationResult, workspace: Path, *, repository: Path | None = None) -> str:
    """Record in the workflow database named by --database-url or the workspace; the new incident's id.

    The repository is recorded with it, so `fix validate` and `fix execute` find the code without a
    `repositories:` setting."""
    from incidentlens.investigation.record import record_result
    from incidentlens.store.database import open_database

    db = open_database(settings.database_url, workspace=workspace)
    try:
        inputs: dict[str, Any] = dict(result.brief.inputs)
        if repository is not None:
            inputs["repository"] = str(repository.resolve())
        return record_result(db, result, workspace=str(workspace), inputs=inputs).incident_id
    finally:
        db.dispose()


def check_out_file(out_file: Path | None) -> None:
    """Fail before any work when the brief could not be written: its folder must exist (no silent mkdir)."""
    if out_file is None:
        return
    folder = out_file.parent
    if not folder.is_dir():
        raise InputError(f"--out {out_file}: folder {folder} does not exist (create it first)")
    if out_file.is_dir():
        raise InputError(f"--out {out_file}: is a folder, give a file name")


def emit(brief: Brief, fmt: OutputFormat, out_file: Path | None, extra: dict[str, Any] | None = None) -> None:
    """The brief on stdout (colour and terminal width on a terminal for `text`) or into `out_file`."""
    if out_file is not None:
        try:
            out_file.write_text(render(brief, fmt, extra), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {out_file}: {exc.strerror}") from None
        err.print(f"brief written to {out_file}")
    elif fmt is OutputFormat.TEXT and out.is_terminal:
        out.print(brief_renderables(brief))
    else:
        sys.stdout.write(render(brief, fmt, extra))


def check_repository(repo: Path | None) -> None:
    """A --repo that is not a git work tree is exit 4 before any work, as documented (not a note at the end)."""
    if repo is not None:
        from incidentlens.locate.git import open_repository

        open_repository(repo)


def should_record(choice: bool | None, result: InvestigationResult, *, live: bool) -> bool:
    """Record when asked; by default only a real incident: an alert among the inputs or live sources.

    A bundle or files without an alert is a trial run and stays out of the incident list unless --record.
    """
    if choice is not None:
        return choice
    return live or bool(result.brief.impact.alerts)


@app.command(name="investigate")
def investigate_cmd(
    bundle: Path | None = typer.Argument(None, help="A bundle folder (any mix of formats, optional repo/)."),
    logs: list[Path] = typer.Option([], "--logs", help="Log files or folders."),
    traces: list[Path] = typer.Option([], "--traces", help="Trace files or folders."),
    metrics: list[Path] = typer.Option([], "--metrics", help="Metric files or folders."),
    alert: list[Path] = typer.Option([], "--alert", help="Alert payloads (Alertmanager, PagerDuty); give the window."),
    changes: list[Path] = typer.Option([], "--changes", help="Change events (deploys, config, flags)."),
    source: list[str] = typer.Option(
        [], "--source", "-s", help="A source from the settings file's 'sources:' (Prometheus, Loki, Tempo, ...)."
    ),
    since: str | None = typer.Option(None, "--since", help="Start of the window (RFC 3339, epoch, now, -2h)."),
    until: str | None = typer.Option(None, "--until", help="End of the window (default: the alert's end or now)."),
    onset: str | None = typer.Option(None, "--onset", help="When the incident started, if you know it."),
    service: list[str] = typer.Option([], "--service", help="Ask live sources only about these services."),
    from_workspace: bool = typer.Option(
        False, "--workspace", help="Investigate what `incidentlens ingest` loaded into the workspace store."
    ),
    config: Path | None = config_option(),
    repo: Path | None = typer.Option(None, "--repo", help="Git repository of the services' code."),
    fmt: OutputFormat = typer.Option(OutputFormat.TEXT, "--format", help="Output format."),
    out_file: Path | None = typer.Option(None, "--out", help="Write the brief to this file."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    record_it: bool | None = typer.Option(
        None,
        "--record/--no-record",
        help="Record the investigation in the workflow database (default: only with an alert or live sources).",
    ),
    memory: bool = typer.Option(
        True, "--memory/--no-memory", help="Look up similar resolved incidents in the workflow database."
    ),
    assist: bool | None = typer.Option(
        None,
        "--assist/--no-assist",
        help="Add a narrative by the configured language model (redacted input, cited claims; docs/assist.md).",
    ),
    memory_limit: str = typer.Option(
        "",
        "--memory-limit",
        help="Bound the telemetry store's memory (e.g. 1GB): it works on disk in the workspace and spills there. "
        "Inputs over 512 MB do so anyway, with 1GB.",
    ),
) -> None:
    """Investigate telemetry from files or live sources and print the brief: ranked hypotheses with evidence.

    Files need no window (their data gives it). Live sources (--source) fetch only the window: the alert's
    (--alert), or --since/--until, or --onset.
    """
    given = {"logs": logs, "traces": traces, "metrics": metrics, "alerts": alert, "changes": changes}
    sources: list[Source] = [FileSource.of([bundle])] if bundle is not None else []
    sources.extend(FileSource.of(paths, name=signal, signal=signal) for signal, paths in given.items() if paths)
    sources.extend(configured_sources(source, config))
    if not sources and not from_workspace:
        raise InputError(
            "nothing to investigate: give a bundle folder, --logs/--traces/--metrics/--alert/--changes, "
            "--source NAME, or --workspace"
        )
    if repo is None and bundle is not None and (bundle / "repo" / ".git").exists():
        repo = bundle / "repo"
    fmt = OutputFormat.JSON if as_json else fmt
    check_out_file(out_file)
    check_repository(repo)
    window = TimeWindow(
        since_ns=parse_cli_time("--since", since),
        until_ns=parse_cli_time("--until", until),
        onset_ns=parse_cli_time("--onset", onset),
    )
    with status_progress(fmt is OutputFormat.TEXT) as progress:
        request = InvestigationRequest(
            sources=tuple(sources),
            window=window,
            repository=repo,
            recall=memory_recall() if memory else None,
            services=tuple(service),
            progress=progress,
            memory_limit=memory_limit,
            store_dir=settings.workspace / "tmp",
        )
        result = _run_in_workspace(request) if from_workspace else run(request)
    for report in result.sources:
        for line in (*report.errors, *report.truncated):
            err.print(f"[yellow]warning:[/] source {report.name}: {line}", highlight=False, markup=True)
    for warning in result.brief.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, markup=True)
    result = dataclasses.replace(result, brief=narrate_if_asked(result.brief, load(config), assist))
    if should_record(record_it, result, live=any(s.live for s in sources)):
        incident_id = record(result, settings.workspace, repository=repo)
        err.print(f"recorded as {incident_id} in {settings.database_url or settings.workspace}")
        if result.brief.assistance is not None and result.brief.assistance.egress:
            with workflow_db() as db:
                record_egress(db, incident_id=incident_id, lines=result.brief.assistance.egress, at=datetime.now(UTC))
    elif record_it is None:
        err.print("not recorded: no alert among the inputs (a trial run); --record keeps it as an incident")
    emit(result.brief, fmt, out_file)


def _run_in_workspace(request: InvestigationRequest) -> InvestigationResult:
    """Investigate the workspace's telemetry store (plus any other sources, loaded next to it in memory)."""
    path = settings.workspace / TELEMETRY_FILE
    if not path.exists():
        raise InputError(f"no telemetry store at {path}: load files first with `incidentlens ingest PATH...`")
    with TelemetryStore() as store:
        store.attach_copy(path)
        return run_on_store(store, request)


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
        with status_progress(not as_json) as progress:
            result = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo", progress=progress))
        truth_data = orjson.loads((bundle / "truth.json").read_bytes())
    if as_json:
        sys.stdout.write(render(result.brief, OutputFormat.JSON, extra={"truth": truth_data}))
        return
    emit(result.brief, OutputFormat.TEXT, None)
    top = result.hypotheses[0].service if result.hypotheses else "none"
    verdict = "matches" if top == truth.service else "does not match"
    err.print(f"demo scenario '{truth.fault}': true root cause {truth.service}; top hypothesis {top} ({verdict})")
