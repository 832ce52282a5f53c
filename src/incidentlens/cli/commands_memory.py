"""`incidentlens memory index|search|stats`: the memory of resolved incidents."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from incidentlens.cli.app import app, err, out, settings
from incidentlens.errors import InputError
from incidentlens.memory.fingerprint import Symptoms
from incidentlens.memory.index import Match
from incidentlens.memory.retrieve import MIN_SHARED, SEEN_BEFORE, is_seen_before, strongest
from incidentlens.store.database import DATABASE_FILE, Database, open_database

memory_app = typer.Typer(
    name="memory",
    help="Similar past incidents: index resolved incidents, search them, measure recurrence.",
    no_args_is_help=True,
)
app.add_typer(memory_app, name="memory")


def database_available() -> bool:
    """A database URL is configured or the workspace already holds a workflow database."""
    return settings.database_url is not None or (settings.workspace / DATABASE_FILE).exists()


def open_memory_database() -> Database:
    """The workflow database; an input error when there is none yet (the memory needs recorded incidents)."""
    if not database_available():
        raise InputError(
            f"no workflow database in {settings.workspace}: record investigations first "
            "(incidentlens investigate) or give --database-url"
        )
    return open_database(settings.database_url, workspace=settings.workspace)


def _dump(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


@memory_app.command("index")
def index_cmd(
    incident_ids: list[str] = typer.Argument(None, help="Incidents to (re)index; none rebuilds the whole memory."),
    fix: str = typer.Option("", "--fix", help="The fix that worked (with one incident id)."),
    as_json: bool = typer.Option(False, "--json", help="Print the fingerprints as JSON."),
) -> None:
    """Index resolved and closed incidents: symptoms, root cause, the fix that worked and the owners."""
    from incidentlens.memory.indexing import index_incident, load_fingerprints, reindex_all

    if fix and len(incident_ids or []) != 1:
        raise InputError("--fix names the fix of one incident: give exactly one incident id with it")
    db = open_memory_database()
    try:
        if incident_ids:
            fingerprints = [index_incident(db, incident_id, fix=fix) for incident_id in incident_ids]
        else:
            indexed = set(reindex_all(db))
            fingerprints = [fp for fp in load_fingerprints(db) if fp.incident_id in indexed]
    finally:
        db.dispose()
    if as_json:
        _dump([fp.to_dict() for fp in fingerprints])
        return
    for fp in fingerprints:
        cause = fp.cause
        what = (
            f"{cause.service}, {cause.fault.value}{'' if cause.confirmed else ' (unconfirmed)'}"
            if cause
            else "no cause"
        )
        out.print(f"{fp.incident_id}: {escape(what)}; {len(fp.symptoms.features)} symptoms", highlight=False)
    err.print(f"indexed {len(fingerprints)} incident(s)")


@memory_app.command("search")
def search_cmd(
    bundle: Path | None = typer.Argument(None, help="A bundle folder to investigate (not recorded) and look up."),
    incident: str | None = typer.Option(None, "--incident", help="Look up a recorded incident's latest symptoms."),
    limit: int = typer.Option(5, "--limit", min=1, max=100, help="How many past incidents to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the matches as JSON."),
) -> None:
    """The past incidents most similar to a bundle or a recorded incident, with what matched."""
    from incidentlens.memory.indexing import load_index

    if (bundle is None) == (incident is None):
        raise InputError("give either a bundle folder or --incident ID")
    db = open_memory_database()
    try:
        index = load_index(db)
        symptoms = _incident_symptoms(db, incident) if incident else _bundle_symptoms(bundle)
    finally:
        db.dispose()
    matches = index.search(symptoms, limit=limit, exclude=incident or "")
    if as_json:
        _dump({"indexed": len(index), "threshold": SEEN_BEFORE, "matches": [_match_dict(m) for m in matches]})
        return
    _print_matches(matches, len(index))


def _incident_symptoms(db: Database, incident_id: str) -> Symptoms:
    from incidentlens.store import get_brief, get_incident

    detail = get_incident(db, incident_id)
    if not detail.investigations:
        raise InputError(f"incident {incident_id} has no investigation to take symptoms from")
    brief = get_brief(db, investigation_id=detail.investigations[0].id)
    if not isinstance(brief, dict) or not isinstance(brief.get("symptoms"), dict):
        raise InputError(f"the latest brief of {incident_id} stores no symptoms: investigate it again")
    return Symptoms.from_dict(brief["symptoms"])


def _bundle_symptoms(bundle: Path | None) -> Symptoms:
    from incidentlens.investigation import InvestigationRequest, run

    assert bundle is not None
    result = run(InvestigationRequest.for_files([bundle]))
    assert result.brief.symptoms is not None
    return result.brief.symptoms


def _match_dict(m: Match) -> dict[str, Any]:
    cause = m.fingerprint.cause
    return {
        "incident_id": m.fingerprint.incident_id,
        "title": m.fingerprint.title,
        "similarity": m.similarity,
        "seen_before": is_seen_before(m),
        "cause": None
        if cause is None
        else {"service": cause.service, "fault": cause.fault.value, "confirmed": cause.confirmed},
        "fix": m.fingerprint.fix,
        "owners": list(m.fingerprint.owners),
        "matched": [f.describe() for f in strongest(m.matched)],
    }


def _print_matches(matches: list[Match], indexed: int) -> None:
    if not matches:
        out.print(f"no similar incident among {indexed} indexed")
        return
    table = Table("incident", "similarity", "seen before", "root cause", "fix", "matched")
    for m in matches:
        d = _match_dict(m)
        cause = d["cause"]
        table.add_row(
            escape(d["incident_id"]),
            f"{m.similarity:.2f}",
            "yes" if d["seen_before"] else "no",
            escape(f"{cause['service']}, {cause['fault']}" + ("" if cause["confirmed"] else " (unconfirmed)"))
            if cause
            else "-",
            escape(d["fix"] or "-"),
            escape("; ".join(d["matched"][:3])),
        )
    out.print(table)
    err.print(
        f"{indexed} incidents indexed; seen before means similarity >= {SEEN_BEFORE} "
        f"and at least {MIN_SHARED} observed symptoms in common"
    )


@memory_app.command("stats")
def stats_cmd(as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON.")) -> None:
    """Recurrence: share of confirmed causes seen before, and share of those the first brief surfaced."""
    from incidentlens.memory.stats import memory_stats

    db = open_memory_database()
    try:
        stats = memory_stats(db)
    finally:
        db.dispose()
    if as_json:
        _dump(stats.to_dict())
        return
    out.print(f"indexed incidents: {stats.indexed} ({stats.confirmed} with a confirmed root cause)")
    out.print(
        f"recurring: {len(stats.recurrences)} of {stats.confirmed} confirmed causes "
        f"({stats.recurring_share:.0%}) match an earlier incident"
    )
    surfaced = sum(1 for r in stats.recurrences if r.surfaced)
    out.print(f"surfaced in the first brief: {surfaced} of {len(stats.recurrences)} ({stats.surfaced_share:.0%})")
