"""Fix SUGGESTIONS: list, show, validate, approve, reject, execute — every change through the approval gate.

Decisions are attributed to the authenticated caller only; a body never names the approver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from incidentlens.model.approval import DecisionKind
from incidentlens.store import fixes_repository
from incidentlens.web.api.deps import CSRF, CommentBody, DbDep, Decider, ExecuteBody, Operator, Reader, SettingsDep
from incidentlens.workflow.fix_context import execute_approved, gate_context
from incidentlens.workflow.gate import decide
from incidentlens.workflow.proposals import describe, generate_proposals, get_fix, list_fixes

router = APIRouter(tags=["fixes"])


@router.get("/incidents/{incident_id}/fixes", summary="An incident's stored fix SUGGESTIONS (a GET changes nothing)")
def list_for_incident(incident_id: str, db: DbDep, _user: Reader) -> dict[str, Any]:
    return {"fixes": [describe(p) for p in list_fixes(db, incident_id=incident_id)], "notes": []}


@router.post(
    "/incidents/{incident_id}/fixes/generate",
    summary="Store fix SUGGESTIONS for the latest investigation (once), so they can be validated and approved",
    dependencies=CSRF,
)
def generate(incident_id: str, db: DbDep, settings: SettingsDep, _user: Operator) -> dict[str, Any]:
    notes: list[str] = []
    generate_proposals(db, incident_id=incident_id, settings=settings.workflow, now=datetime.now(UTC), notes=notes)
    return {"fixes": [describe(p) for p in list_fixes(db, incident_id=incident_id)], "notes": notes}


@router.get("/fixes/{proposal_id}", summary="One SUGGESTION: rationale, evidence, prediction, diff or action")
def show(proposal_id: str, db: DbDep, _user: Reader) -> dict[str, Any]:
    return describe(get_fix(db, proposal_id=proposal_id))


@router.get("/fixes/{proposal_id}/decisions", summary="Approvals and rejections recorded for a proposal")
def decisions(proposal_id: str, db: DbDep, _user: Reader) -> list[dict[str, Any]]:
    with db.session(readonly=True) as session:
        fixes_repository.get_proposal(session, proposal_id=proposal_id)
        rows = fixes_repository.list_decisions(session, proposal_id=proposal_id)
    return [
        {
            "kind": d.kind.value,
            "actor": d.actor,
            "roles": sorted(r.value for r in d.roles),
            "comment": d.comment,
            "at": d.at.isoformat(),
            "proposal_hash": d.proposal_hash,
        }
        for d in rows
    ]


@router.post(
    "/fixes/{proposal_id}/validate", summary="Apply in a scratch worktree and run the tests", dependencies=CSRF
)
def validate(proposal_id: str, db: DbDep, settings: SettingsDep, user: Operator) -> dict[str, Any]:
    from incidentlens.workflow.validate import validate_fix

    stored = validate_fix(
        db, proposal_id=proposal_id, settings=settings.workflow, actor=user.name, now=datetime.now(UTC)
    )
    return describe(stored)


def _decide(
    proposal_id: str, kind: DecisionKind, comment: str, db: DbDep, settings: SettingsDep, user: Decider
) -> dict[str, Any]:
    context = gate_context(db, settings.workflow, proposal_id)
    decision = decide(
        db, proposal_id=proposal_id, identity=user, kind=kind, context=context, now=datetime.now(UTC), comment=comment
    )
    return {
        "proposal": proposal_id,
        "kind": decision.kind.value,
        "actor": decision.actor,
        "at": decision.at.isoformat(),
    }


@router.post(
    "/fixes/{proposal_id}/approve", summary="Record your approval (the policy counts approvers)", dependencies=CSRF
)
def approve(proposal_id: str, body: CommentBody, db: DbDep, settings: SettingsDep, user: Decider) -> dict[str, Any]:
    return _decide(proposal_id, DecisionKind.APPROVE, body.comment, db, settings, user)


@router.post("/fixes/{proposal_id}/reject", summary="Record your rejection", dependencies=CSRF)
def reject(proposal_id: str, body: CommentBody, db: DbDep, settings: SettingsDep, user: Decider) -> dict[str, Any]:
    return _decide(proposal_id, DecisionKind.REJECT, body.comment, db, settings, user)


@router.post(
    "/fixes/{proposal_id}/execute", summary="Run an executor, only if the gate issues an approval", dependencies=CSRF
)
def execute(proposal_id: str, body: ExecuteBody, db: DbDep, settings: SettingsDep, user: Operator) -> dict[str, Any]:
    done = execute_approved(
        db, proposal_id=proposal_id, executor=body.executor, settings=settings.workflow, actor=user.name
    )
    row, approval = done.row, done.approval
    return {
        "proposal": proposal_id,
        "executor": row.executor,
        "ok": row.ok,
        "approvers": list(approval.approvers),
        "result": dict(row.result),
        "actor": row.actor,
    }
