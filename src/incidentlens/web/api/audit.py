"""The audit trail (per incident), chain verification, MTTx metrics and the caller's identity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request

from incidentlens.errors import InputError
from incidentlens.store.lifecycle_repository import all_facts
from incidentlens.store.repository import get_incident
from incidentlens.web.api.deps import DbDep, Reader
from incidentlens.web.auth import csrf_token
from incidentlens.workflow.audit import audit_trail, verify_audit
from incidentlens.workflow.metrics import summarise
from incidentlens.workflow.views import audit_json

router = APIRouter(tags=["audit"])


@router.get("/incidents/{incident_id}/audit", summary="An incident's audit trail in order")
def incident_audit(incident_id: str, db: DbDep, _user: Reader) -> list[dict[str, Any]]:
    get_incident(db, incident_id)  # 404 for an unknown incident rather than an empty trail
    return [audit_json(e) for e in audit_trail(db, incident_id=incident_id)]


@router.get("/audit/verify", summary="Recompute the hash chain; ok=false names the first bad seq")
def verify(db: DbDep, _user: Reader, expect_head: str | None = Query(default=None, max_length=64)) -> dict[str, Any]:
    result = verify_audit(db)
    ok = result.ok
    reason = result.reason
    if ok and expect_head is not None and expect_head != result.head_hash:
        ok = False
        reason = f"the head {result.head_hash} (seq {result.head_seq}) is not the expected {expect_head}"
    return {
        "ok": ok,
        "entries": result.entries,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "first_bad_seq": result.first_bad_seq,
        "reason": reason,
    }


@router.get("/metrics", summary="MTTA, MTTU, MTTO, MTTM, MTTR (same JSON as `incidentlens metrics --json`)")
def metrics(db: DbDep, _user: Reader, since: str | None = Query(default=None, max_length=64)) -> Any:
    when: datetime | None = None
    if since is not None:
        try:
            parsed = datetime.fromisoformat(since)
        except ValueError:
            raise InputError(f"since {since!r} is not a date (YYYY-MM-DD) or ISO datetime") from None
        when = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    with db.session(readonly=True) as session:
        facts = all_facts(session, since=when)
    return summarise(facts).as_json()


@router.get("/me", tags=["session"], summary="Who you are: user, roles and the CSRF token for forms")
def me(request: Request, user: Reader) -> dict[str, Any]:
    return {"user": user.name, "roles": sorted(r.value for r in user.roles), "csrf": csrf_token(request)}
