"""Console form POSTs: each checks the CSRF token and the logged-in user's role, then calls the same
workflow function as the CLI, acting as that user only. Success redirects back (POST-redirect-GET);
a refusal re-renders the incident page with the reason and the error's HTTP status.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from incidentlens.errors import IncidentLensError, InputError
from incidentlens.model.approval import DecisionKind
from incidentlens.model.enums import HypothesisStatus, Role
from incidentlens.web.auth import current_user, verify_csrf
from incidentlens.web.console.pages import render_incident
from incidentlens.web.console.render import login_redirect
from incidentlens.web.problems import scrub, status_of
from incidentlens.workflow import incidents as lifecycle
from incidentlens.workflow.fix_context import OPERATORS, execute_approved, gate_context
from incidentlens.workflow.gate import decide
from incidentlens.workflow.identity import Identity, require_role
from incidentlens.workflow.ledger import decide_hypothesis
from incidentlens.workflow.lifecycle import Action
from incidentlens.workflow.proposals import generate_proposals, get_fix
from incidentlens.workflow.validate import validate_fix

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])
RESPONDERS = (Role.RESPONDER, Role.ADMIN)
DECIDERS = (Role.APPROVER, Role.ADMIN, Role.RESPONDER)  # the policy then says whose decision counts


def _act(
    request: Request, incident_id: str, roles: tuple[Role, ...], work: Callable[[Identity], str], anchor: str = ""
) -> Response:
    """Run `work` as the logged-in user holding one of `roles`; redirect with its message, or show why not."""
    identity = current_user(request)
    if identity is None:
        return login_redirect(request)
    try:
        require_role(identity, *roles)
        message = work(identity)
    except IncidentLensError as exc:
        return render_incident(request, incident_id, error=scrub(request, str(exc)), status_code=status_of(exc))
    target = f"/incidents/{quote(incident_id)}?done={quote(message)}" + (f"#{anchor}" if anchor else "")
    return RedirectResponse(target, status_code=303)


@router.post("/incidents/{incident_id}/hypotheses/{hypothesis_id}/decide")
def decide_hypothesis_form(
    request: Request,
    incident_id: str,
    hypothesis_id: str,
    decision: Annotated[str, Form()],
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Confirm or refute; a refutation needs a comment, and the hypothesis stays listed with it."""

    def work(identity: Identity) -> str:
        kinds = {"confirm": HypothesisStatus.CONFIRMED, "refute": HypothesisStatus.REFUTED}
        if decision not in kinds:
            raise InputError(f"decision must be confirm or refute, not {decision!r}")
        decide_hypothesis(
            request.app.state.db,
            incident_id=incident_id,
            hypothesis_id=hypothesis_id,
            decision=kinds[decision],
            comment=comment,
            actor=identity.name,
        )
        return f"{identity.name} {decision}ed hypothesis {hypothesis_id}"

    return _act(request, incident_id, RESPONDERS, work, anchor=f"h-{hypothesis_id}")


@router.post("/incidents/{incident_id}/lifecycle")
def lifecycle_form(
    request: Request, incident_id: str, action: Annotated[str, Form()], note: Annotated[str, Form()] = ""
) -> Response:
    """ack, own, mitigate, resolve, close or reopen, by the logged-in responder."""

    def work(identity: Identity) -> str:
        allowed = {a.value: a for a in Action if a is not Action.UNDERSTAND}
        if action not in allowed:
            raise InputError(f"unknown step {action!r} (allowed: {', '.join(allowed)})")
        db = request.app.state.db
        lifecycle.apply_action(db, incident_id=incident_id, action=allowed[action], actor=identity.name, note=note)
        return f"{identity.name}: {action} recorded"

    return _act(request, incident_id, RESPONDERS, work)


@router.post("/incidents/{incident_id}/assign")
def assign_form(
    request: Request, incident_id: str, owner: Annotated[str, Form()], note: Annotated[str, Form()] = ""
) -> Response:
    def work(identity: Identity) -> str:
        result = lifecycle.assign(
            request.app.state.db,
            incident_id=incident_id,
            owner=owner,
            actor=identity.name,
            note=note,
            known_users=set(request.app.state.settings.workflow.users),
        )
        return f"assigned to {result.owner}"

    return _act(request, incident_id, RESPONDERS, work)


@router.post("/incidents/{incident_id}/fixes/generate")
def generate_form(request: Request, incident_id: str) -> Response:
    """Build fix SUGGESTIONS for the latest investigation (once per investigation), as `fix list` does."""

    def work(identity: Identity) -> str:
        notes: list[str] = []
        made = generate_proposals(
            request.app.state.db,
            incident_id=incident_id,
            settings=request.app.state.settings.workflow,
            now=datetime.now(UTC),
            notes=notes,
        )
        return f"{len(made)} new suggestion(s)" + (f"; notes: {'; '.join(notes)}" if notes else "")

    return _act(request, incident_id, OPERATORS, work, anchor="fixes")


def _act_on_fix(
    request: Request, proposal_id: str, roles: tuple[Role, ...], work: Callable[[Identity], str]
) -> Response:
    """`_act` on the incident the proposal belongs to; an unknown proposal answers in plain text."""
    try:
        incident_id = get_fix(request.app.state.db, proposal_id=proposal_id).incident_id
    except IncidentLensError as exc:
        return Response(str(exc), status_code=status_of(exc), media_type="text/plain")
    return _act(request, incident_id, roles, work, anchor=f"fix-{proposal_id}")


@router.post("/fixes/{proposal_id}/decide")
def decide_fix_form(
    request: Request, proposal_id: str, decision: Annotated[str, Form()], comment: Annotated[str, Form()] = ""
) -> Response:
    """Record the logged-in user's approve or reject; the policy decides whether it counts."""
    db, settings = request.app.state.db, request.app.state.settings.workflow

    def work(identity: Identity) -> str:
        kinds = {"approve": DecisionKind.APPROVE, "reject": DecisionKind.REJECT}
        if decision not in kinds:
            raise InputError(f"decision must be approve or reject, not {decision!r}")
        context = gate_context(db, settings, proposal_id)
        decide(
            db,
            proposal_id=proposal_id,
            identity=identity,
            kind=kinds[decision],
            context=context,
            now=datetime.now(UTC),
            comment=comment,
        )
        return f"{identity.name} {'approved' if decision == 'approve' else 'rejected'} {proposal_id}"

    return _act_on_fix(request, proposal_id, DECIDERS, work)


@router.post("/fixes/{proposal_id}/validate")
def validate_form(request: Request, proposal_id: str) -> Response:
    """Apply the diff in a scratch worktree and run the repository's test command (waits for it)."""
    db, settings = request.app.state.db, request.app.state.settings.workflow

    def work(identity: Identity) -> str:
        stored = validate_fix(
            db, proposal_id=proposal_id, settings=settings, actor=identity.name, now=datetime.now(UTC)
        )
        return f"{proposal_id}: {stored.status.value}"

    return _act_on_fix(request, proposal_id, OPERATORS, work)


@router.post("/fixes/{proposal_id}/execute")
def execute_form(request: Request, proposal_id: str, executor: Annotated[str, Form()]) -> Response:
    """Ask the gate for an approval and, only if the policy holds, run the executor once."""
    db, settings = request.app.state.db, request.app.state.settings.workflow

    def work(identity: Identity) -> str:
        done = execute_approved(db, proposal_id=proposal_id, executor=executor, settings=settings, actor=identity.name)
        row, approval = done.row, done.approval
        shown = ", ".join(f"{k}={v}" for k, v in row.result.items() if k in ("branch", "commit", "pushed", "url"))
        return f"{proposal_id} executed by {executor} (approved by {', '.join(approval.approvers)}): {shown}"

    return _act_on_fix(request, proposal_id, OPERATORS, work)
