"""`incidentlens incident ...` and `incidentlens hypothesis confirm|refute`: the lifecycle and the ledger."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from incidentlens.cli.actors import RESPONDERS, acting_user, as_option, config_option, duration, load, workflow_db
from incidentlens.cli.app import app, out
from incidentlens.model.enums import HypothesisStatus, IncidentStatus
from incidentlens.store.repository import get_incident, list_incidents
from incidentlens.store.rows import IncidentDetail, IncidentFacts
from incidentlens.workflow import incidents as lifecycle
from incidentlens.workflow.ledger import decide_hypothesis, ledger_entries
from incidentlens.workflow.lifecycle import Action, current_owner
from incidentlens.workflow.metrics import Metric, incident_metrics
from incidentlens.workflow.views import incident_json, incident_row_json

incident_app = typer.Typer(
    name="incident",
    help="Incidents and their lifecycle: list, show, ack, assign, own, mitigate, resolve, close, reopen.",
    no_args_is_help=True,
)
hypothesis_app = typer.Typer(
    name="hypothesis", help="Human decisions on a hypothesis: confirm or refute it.", no_args_is_help=True
)
app.add_typer(incident_app, name="incident")
app.add_typer(hypothesis_app, name="hypothesis")

NOTE_HELP = "Why, for the record (shown in the status history and the audit trail)."


def _json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


@incident_app.command("list")
def list_cmd(
    status: IncidentStatus | None = typer.Option(None, "--status", help="Only incidents in this status."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Incidents, newest first."""
    with workflow_db() as db:
        rows = list_incidents(db, status=status)
    if as_json:
        _json([incident_row_json(r) for r in rows])
        return
    if not rows:
        out.print("no incidents")
        return
    table = Table("id", "status", "severity", "service", "detected (UTC)", "inv.", "title")
    for r in rows:
        table.add_row(
            r.id,
            r.status.value,
            r.severity.value,
            escape(r.service or "-"),
            f"{r.detected_at:%Y-%m-%d %H:%M:%S}",
            str(r.investigation_count),
            escape(r.title),
        )
    out.print(table)


def _facts(detail: IncidentDetail) -> IncidentFacts:
    return IncidentFacts(incident=detail.incident, status_events=detail.status_events, assignments=detail.assignments)


@incident_app.command("show")
def show_cmd(
    incident: str = typer.Argument(..., help="Incident id, e.g. INC-0001."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Status history, owner, hypotheses with their status and decisions, and MTTx so far."""
    with workflow_db() as db:
        detail = get_incident(db, incident)
    metrics = incident_metrics(_facts(detail))
    ledger = ledger_entries(detail)
    if as_json:
        _json(incident_json(detail, metrics, ledger))
        return
    row = detail.incident
    owner = current_owner(detail.assignments) or "-"
    out.print(f"[bold]{row.id}[/] {escape(row.title)}")
    out.print(
        f"status {row.status.value} · severity {row.severity.value} · service {escape(row.service or '-')} · "
        f"owner {escape(owner)} (reassignments {metrics.reassignments}) · investigations {row.investigation_count}"
    )
    history = Table("at (UTC)", "status", "actor", "note", title="status history")
    for e in detail.status_events:
        history.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", e.status.value, escape(e.actor), escape(e.note))
    for a in detail.assignments:
        history.add_row(f"{a.at:%Y-%m-%d %H:%M:%S}", f"assigned {escape(a.owner)}", escape(a.actor), escape(a.note))
    out.print(history)
    hyps = Table("id", "status", "rank", "conf.", "claim", "decision", title="hypotheses (ledger)")
    for entry in ledger:
        d = entry.decision
        decided = f"{d.decision.value} by {d.actor}: {d.comment}" if d else "-"
        rank = str(entry.latest_rank) if entry.in_latest_investigation else f"({entry.latest_rank}, earlier)"
        hyps.add_row(
            escape(entry.hypothesis.id),
            entry.status.value,
            rank,
            f"{entry.hypothesis.confidence:.2f}",
            escape(entry.hypothesis.claim),
            escape(decided),
        )
    out.print(hyps)
    so_far = " · ".join(f"{m.value.upper()} {duration(metrics.durations[m])}" for m in Metric)
    out.print(f"since detected: {so_far}")


def _step(incident: str, action: Action, as_user: str | None, config: Path | None, note: str) -> None:
    actor = acting_user(as_user, config, *RESPONDERS)
    with workflow_db() as db:
        row = lifecycle.apply_action(db, incident_id=incident, action=action, actor=actor.name, note=note)
    out.print(f"{row.id} {action.value}: done by {escape(actor.name)}; status now {row.status.value}")


@incident_app.command("ack")
def ack_cmd(
    incident: str = typer.Argument(..., help="Incident id."),
    note: str = typer.Option("", "--note", help=NOTE_HELP),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """Acknowledge the incident (once; needs role responder or admin)."""
    _step(incident, Action.ACK, as_user, config, note)


@incident_app.command("assign")
def assign_cmd(
    incident: str = typer.Argument(..., help="Incident id."),
    owner: str = typer.Argument(..., help="The owner: a person or a team."),
    note: str = typer.Option("", "--note", help=NOTE_HELP),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """Assign an owner; a change of owner counts as a reassignment (a misroute)."""
    actor = acting_user(as_user, config, *RESPONDERS)
    with workflow_db() as db:
        result = lifecycle.assign(
            db, incident_id=incident, owner=owner, actor=actor.name, note=note, known_users=set(load(config).users)
        )
    moved = (
        f" (was {escape(result.previous_owner)}; reassignments {result.reassignments})" if result.previous_owner else ""
    )
    out.print(f"{result.incident.id} assigned to {escape(result.owner)} by {escape(actor.name)}{moved}")


@incident_app.command("own")
def own_cmd(
    incident: str = typer.Argument(..., help="Incident id."),
    note: str = typer.Option("", "--note", help=NOTE_HELP),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """The assigned owner engaged: marks the incident owned (the MTTO milestone)."""
    _step(incident, Action.OWN, as_user, config, note)


@incident_app.command("mitigate")
def mitigate_cmd(
    incident: str = typer.Argument(..., help="Incident id."),
    note: str = typer.Option("", "--note", help=NOTE_HELP),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """Record that the impact is mitigated (the cause may still be there)."""
    _step(incident, Action.MITIGATE, as_user, config, note)


@incident_app.command("resolve")
def resolve_cmd(
    incident: str = typer.Argument(..., help="Incident id."),
    note: str = typer.Option("", "--note", help=NOTE_HELP),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """Resolve the incident."""
    _step(incident, Action.RESOLVE, as_user, config, note)


@incident_app.command("close")
def close_cmd(
    incident: str = typer.Argument(..., help="Incident id."),
    note: str = typer.Option("", "--note", help=NOTE_HELP),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """Close a resolved incident (final)."""
    _step(incident, Action.CLOSE, as_user, config, note)


@incident_app.command("reopen")
def reopen_cmd(
    incident: str = typer.Argument(..., help="Incident id."),
    note: str = typer.Option("", "--note", help=NOTE_HELP),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """Reopen a resolved incident: back to investigating."""
    _step(incident, Action.REOPEN, as_user, config, note)


def _decide(
    incident: str, hypothesis: str, decision: HypothesisStatus, comment: str, as_user: str | None, config: Path | None
) -> None:
    actor = acting_user(as_user, config, *RESPONDERS)
    with workflow_db() as db:
        result = decide_hypothesis(
            db, incident_id=incident, hypothesis_id=hypothesis, decision=decision, comment=comment, actor=actor.name
        )
    extra = f"; {incident} is now understood" if result.marked_understood else ""
    out.print(f"{escape(hypothesis)} on {incident}: {decision.value} by {escape(actor.name)}{extra}")


@hypothesis_app.command("confirm")
def confirm_cmd(
    incident: str = typer.Argument(..., help="Incident id."),
    hypothesis: str = typer.Argument(..., help="Hypothesis id (see `incident show`)."),
    comment: str = typer.Option("", "--comment", help="What confirmed it."),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """Confirm a hypothesis; the first confirmation marks the incident understood (the MTTU milestone)."""
    _decide(incident, hypothesis, HypothesisStatus.CONFIRMED, comment, as_user, config)


@hypothesis_app.command("refute")
def refute_cmd(
    incident: str = typer.Argument(..., help="Incident id."),
    hypothesis: str = typer.Argument(..., help="Hypothesis id (see `incident show`)."),
    comment: str = typer.Option("", "--comment", help="Why it is wrong (required; stays visible)."),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """Refute a hypothesis with the reason; it stays in the ledger, marked refuted."""
    _decide(incident, hypothesis, HypothesisStatus.REFUTED, comment, as_user, config)
