"""The console's "Ask about this incident": the same `ask` as the CLI (redacted evidence, cited claims, an
egress record in the audit chain), answered on the incident page. Shown only when a model is configured."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from incidentlens.assist.incidents import assistant_for_incident, incident_pack, record_egress, require_assist
from incidentlens.assist.prompt import Purpose
from incidentlens.errors import IncidentLensError, InputError
from incidentlens.model.enums import Role
from incidentlens.web.auth import current_user, verify_csrf
from incidentlens.web.console.pages import render_incident
from incidentlens.web.console.render import login_redirect
from incidentlens.web.problems import scrub, status_of
from incidentlens.workflow.identity import require_role

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])
ASKERS = (Role.RESPONDER, Role.APPROVER, Role.ADMIN)  # a call costs budget and sends data: not for viewers
MAX_QUESTION = 1_000


@router.post("/incidents/{incident_id}/ask")
def ask_form(request: Request, incident_id: str, question: Annotated[str, Form()]) -> Response:
    identity = current_user(request)
    if identity is None:
        return login_redirect(request)
    db, settings = request.app.state.db, request.app.state.settings.workflow
    try:
        require_role(identity, *ASKERS)
        if not question.strip() or len(question) > MAX_QUESTION:
            raise InputError(f"a question needs 1 to {MAX_QUESTION} characters")
        chosen = require_assist(settings)
        assistant = assistant_for_incident(chosen, db, incident_id=incident_id)
        pack = incident_pack(db, incident_id=incident_id, max_evidence=chosen.max_evidence)
        drafted = assistant.assist(pack, Purpose.ASK, question=question)
        record_egress(db, incident_id=incident_id, lines=drafted.assistance.egress, at=datetime.now(UTC))
    except IncidentLensError as exc:
        return render_incident(request, incident_id, error=scrub(request, str(exc)), status_code=status_of(exc))
    return render_incident(request, incident_id, answer=drafted.assistance, question=question)
