"""JSON shapes of the workflow: plain dicts built from its frozen rows, shared by the CLI's --json and the API."""

from __future__ import annotations

from typing import Any

from incidentlens.model.records import Evidence
from incidentlens.store.jobs_repository import JobRow
from incidentlens.store.rows import IncidentDetail, IncidentRow
from incidentlens.workflow.audit import AuditEntry
from incidentlens.workflow.ledger import LedgerEntry
from incidentlens.workflow.lifecycle import current_owner, reassignments
from incidentlens.workflow.metrics import IncidentMetrics

__all__ = ["audit_json", "evidence_json", "incident_json", "incident_row_json", "job_json", "ledger_json"]


def incident_row_json(row: IncidentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "status": row.status.value,
        "severity": row.severity.value,
        "service": row.service,
        "detected_at": row.detected_at.isoformat(),
        "opened_at": row.opened_at.isoformat(),
        "alert_fingerprint": row.alert_fingerprint,
        "investigations": row.investigation_count,
    }


def ledger_json(entry: LedgerEntry) -> dict[str, Any]:
    h = entry.hypothesis
    return {
        "id": h.id,
        "label": "HYPOTHESIS",
        "status": entry.status.value,
        "claim": h.claim,
        "service": h.service,
        "fault": h.fault.value,
        "confidence": h.confidence,
        "rank": entry.latest_rank,
        "investigation": entry.latest_investigation_id,
        "in_latest_investigation": entry.in_latest_investigation,
        "times_ranked": entry.times_ranked,
        "supporting": list(h.supporting),
        "contradicting": list(h.contradicting),
        "predictions": [
            {"statement": p.statement, "confirms_if": p.confirms_if, "refutes_if": p.refutes_if} for p in h.predictions
        ],
        "decisions": [
            {"decision": d.decision.value, "comment": d.comment, "actor": d.actor, "at": d.at.isoformat()}
            for d in entry.decisions
        ],
    }


def incident_json(
    detail: IncidentDetail, metrics: IncidentMetrics, ledger: list[LedgerEntry], jobs: list[JobRow] | None = None
) -> dict[str, Any]:
    """The incident with its history, ledger and MTTx so far; `jobs` (background work) where there are any."""
    shown = {
        **incident_row_json(detail.incident),
        "owner": current_owner(detail.assignments),
        "reassignments": reassignments(detail.assignments),
        "status_history": [
            {"status": e.status.value, "at": e.at.isoformat(), "actor": e.actor, "note": e.note}
            for e in detail.status_events
        ],
        "assignments": [
            {"owner": a.owner, "at": a.at.isoformat(), "actor": a.actor, "note": a.note} for a in detail.assignments
        ],
        "hypotheses": [ledger_json(e) for e in ledger],
        "metrics": {m.value: (d.total_seconds() if d is not None else None) for m, d in metrics.durations.items()},
    }
    return shown if jobs is None else {**shown, "jobs": [job_json(j) for j in jobs]}


def evidence_json(e: Evidence) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind.value,
        "service": e.service,
        "summary": e.summary,
        "excerpt": e.excerpt,
        "time_range": None
        if e.time_range is None
        else {"start_ns": e.time_range.start_ns, "end_ns": e.time_range.end_ns},
        "source_ref": e.source_ref,
        "score": e.score,
        "attributes": dict(e.attributes),
    }


def audit_json(e: AuditEntry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "incident_id": e.incident_id,
        "entity": e.entity,
        "entity_id": e.entity_id,
        "action": e.action,
        "data": e.payload,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def job_json(j: JobRow) -> dict[str, Any]:
    return {
        "id": j.id,
        "incident_id": j.incident_id,
        "kind": j.kind,
        "status": j.status.value,
        "step": j.step,
        "alerts": j.alerts,
        "attempts": j.attempts,
        "error": j.error,
        "investigation_id": j.investigation_id,
        "created_at": j.created_at.isoformat(),
        "updated_at": j.updated_at.isoformat(),
        "started_at": j.started_at.isoformat() if j.started_at else None,
        "finished_at": j.finished_at.isoformat() if j.finished_at else None,
    }
