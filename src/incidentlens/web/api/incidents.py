"""Incidents, their lifecycle steps, hypotheses (confirm/refute), evidence and briefs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from incidentlens.errors import InputError
from incidentlens.model.enums import HypothesisStatus, IncidentStatus, Severity
from incidentlens.store.errors import NotFoundError
from incidentlens.store.jobs_repository import list_jobs
from incidentlens.store.repository import get_brief, get_incident, list_incidents
from incidentlens.store.rows import IncidentFacts
from incidentlens.web.api.deps import CSRF, AssignBody, CommentBody, DbDep, NoteBody, Reader, Responder, SettingsDep
from incidentlens.workflow import incidents as lifecycle
from incidentlens.workflow.ledger import decide_hypothesis, ledger_entries
from incidentlens.workflow.lifecycle import Action
from incidentlens.workflow.metrics import incident_metrics
from incidentlens.workflow.views import evidence_json, incident_json, incident_row_json, ledger_json

router = APIRouter(prefix="/incidents", tags=["incidents"])

# Steps a person takes through the API (`understand` is recorded by confirming a hypothesis).
STEPS = {a.value: a for a in (Action.ACK, Action.OWN, Action.MITIGATE, Action.RESOLVE, Action.CLOSE, Action.REOPEN)}


@router.get("", summary="Incidents, newest first")
def list_all(
    db: DbDep,
    _user: Reader,
    status: IncidentStatus | None = None,
    service: str | None = Query(default=None, max_length=255),
    severity: Severity | None = None,
) -> list[dict[str, Any]]:
    rows = list_incidents(db, status=status)
    return [
        incident_row_json(r)
        for r in rows
        if (service is None or r.service == service) and (severity is None or r.severity is severity)
    ]


@router.get("/{incident_id}", summary="One incident: history, owner, hypothesis ledger, MTTx so far, jobs")
def show(incident_id: str, db: DbDep, _user: Reader) -> dict[str, Any]:
    detail = get_incident(db, incident_id)
    facts = IncidentFacts(incident=detail.incident, status_events=detail.status_events, assignments=detail.assignments)
    with db.session(readonly=True) as session:
        jobs = list_jobs(session, incident_id=incident_id, limit=20)
    return incident_json(detail, incident_metrics(facts), ledger_entries(detail), jobs)


@router.post(
    "/{incident_id}/steps/{step}",
    summary="A lifecycle step: ack, own, mitigate, resolve, close, reopen",
    dependencies=CSRF,
)
def step(incident_id: str, step: str, body: NoteBody, db: DbDep, user: Responder) -> dict[str, Any]:
    action = STEPS.get(step)
    if action is None:
        raise InputError(f"unknown step {step!r}: one of {', '.join(STEPS)}")
    row = lifecycle.apply_action(db, incident_id=incident_id, action=action, actor=user.name, note=body.note)
    return incident_row_json(row)


@router.post(
    "/{incident_id}/assign", summary="Assign an owner (a change of owner is a reassignment)", dependencies=CSRF
)
def assign(incident_id: str, body: AssignBody, db: DbDep, settings: SettingsDep, user: Responder) -> dict[str, Any]:
    result = lifecycle.assign(
        db,
        incident_id=incident_id,
        owner=body.owner,
        actor=user.name,
        note=body.note,
        known_users=set(settings.workflow.users),
    )
    return {
        "incident": result.incident.id,
        "owner": result.owner,
        "previous_owner": result.previous_owner,
        "reassignments": result.reassignments,
        "actor": user.name,
    }


@router.get("/{incident_id}/hypotheses", summary="The hypothesis ledger")
def hypotheses(incident_id: str, db: DbDep, _user: Reader) -> list[dict[str, Any]]:
    return [ledger_json(e) for e in ledger_entries(get_incident(db, incident_id))]


def _decide(
    db: DbDep, incident_id: str, hypothesis_id: str, decision: HypothesisStatus, comment: str, actor: str
) -> dict[str, Any]:
    result = decide_hypothesis(
        db, incident_id=incident_id, hypothesis_id=hypothesis_id, decision=decision, comment=comment, actor=actor
    )
    return {
        "incident": incident_id,
        "hypothesis": hypothesis_id,
        "decision": result.decision.decision.value,
        "actor": result.decision.actor,
        "comment": result.decision.comment,
        "previous": result.previous.decision.value if result.previous else None,
        "marked_understood": result.marked_understood,
    }


@router.post("/{incident_id}/hypotheses/{hypothesis_id}/confirm", summary="Confirm a hypothesis", dependencies=CSRF)
def confirm(incident_id: str, hypothesis_id: str, body: CommentBody, db: DbDep, user: Responder) -> dict[str, Any]:
    return _decide(db, incident_id, hypothesis_id, HypothesisStatus.CONFIRMED, body.comment, user.name)


@router.post(
    "/{incident_id}/hypotheses/{hypothesis_id}/refute",
    summary="Refute a hypothesis (comment required)",
    dependencies=CSRF,
)
def refute(incident_id: str, hypothesis_id: str, body: CommentBody, db: DbDep, user: Responder) -> dict[str, Any]:
    return _decide(db, incident_id, hypothesis_id, HypothesisStatus.REFUTED, body.comment, user.name)


@router.get("/{incident_id}/evidence", summary="Evidence records with their stored excerpts")
def evidence(incident_id: str, db: DbDep, _user: Reader) -> list[dict[str, Any]]:
    return [evidence_json(e) for e in get_incident(db, incident_id).evidence]


@router.get("/{incident_id}/brief", summary="The latest investigation's brief (JSON)")
def brief(incident_id: str, db: DbDep, _user: Reader) -> Any:
    detail = get_incident(db, incident_id)
    if not detail.investigations:
        raise NotFoundError(f"{incident_id} has no investigation yet")
    return get_brief(db, investigation_id=detail.investigations[0].id)
