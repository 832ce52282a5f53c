"""Compact shapes of incidents, hypotheses, evidence, audit entries and fixes: ids and one-line summaries,
so a tool result spends an agent's context on what it needs and points at the rest by id."""

from __future__ import annotations

from typing import Any

from incidentlens.mcp_server.paging import shorten
from incidentlens.model import Evidence, Hypothesis
from incidentlens.store.fixes_repository import StoredProposal
from incidentlens.store.rows import IncidentRow
from incidentlens.workflow.audit import AuditEntry
from incidentlens.workflow.ledger import LedgerEntry

__all__ = [
    "SUMMARY_CHARS",
    "audit_item",
    "evidence_full",
    "evidence_item",
    "fix_item",
    "hypothesis_item",
    "incident_item",
    "ledger_item",
]

SUMMARY_CHARS = 240  # one line of a summary or claim
IDS_SHOWN = 8  # evidence ids listed per hypothesis; the rest counted


def incident_item(row: IncidentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": shorten(row.title, SUMMARY_CHARS),
        "status": row.status.value,
        "severity": row.severity.value,
        "service": row.service,
        "detected_at": row.detected_at.isoformat(),
        "investigations": row.investigation_count,
    }


def _ids(ids: tuple[str, ...] | list[str]) -> dict[str, Any]:
    shown = list(ids[:IDS_SHOWN])
    return {"ids": shown, "more": len(ids) - len(shown)} if len(ids) > IDS_SHOWN else {"ids": shown}


def hypothesis_item(h: Hypothesis, *, rank: int) -> dict[str, Any]:
    return {
        "id": h.id,
        "rank": rank,
        "service": h.service,
        "fault": h.fault.value,
        "confidence": round(h.confidence, 3),
        "status": h.status.value,
        "claim": shorten(h.claim, SUMMARY_CHARS),
        "supporting": _ids(h.supporting),
        "contradicting": _ids(h.contradicting),
    }


def ledger_item(entry: LedgerEntry) -> dict[str, Any]:
    shown = hypothesis_item(entry.hypothesis, rank=entry.latest_rank)
    decision = entry.decision
    return {
        **shown,
        "status": entry.status.value,
        "in_latest_investigation": entry.in_latest_investigation,
        "predictions": [shorten(p.statement, SUMMARY_CHARS) for p in entry.hypothesis.predictions[:3]],
        "decision": None
        if decision is None
        else {
            "decision": decision.decision.value,
            "actor": decision.actor,
            "at": decision.at.isoformat(),
            "comment": shorten(decision.comment, SUMMARY_CHARS),
        },
    }


def evidence_item(e: Evidence) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind.value,
        "service": e.service,
        "score": round(e.score, 3),
        "summary": shorten(e.summary, SUMMARY_CHARS),
    }


def evidence_full(e: Evidence, *, excerpt_chars: int) -> dict[str, Any]:
    """One record with its stored excerpt (cut to `excerpt_chars`), time range, source and attributes."""
    return {
        **evidence_item(e),
        "summary": e.summary,
        "excerpt": shorten(e.excerpt, excerpt_chars),
        "time_range": None
        if e.time_range is None
        else {"start_ns": e.time_range.start_ns, "end_ns": e.time_range.end_ns},
        "source_ref": e.source_ref,
        "attributes": {k: v for k, v in e.attributes.items() if isinstance(v, str | int | float | bool) or v is None},
    }


def audit_item(e: AuditEntry) -> dict[str, Any]:
    data = e.payload
    note = data.get("note") or data.get("comment") if isinstance(data, dict) else None
    item: dict[str, Any] = {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "action": e.action,
        "entity": e.entity,
        "entity_id": e.entity_id,
    }
    if note:
        item["note"] = shorten(str(note), SUMMARY_CHARS)
    return item


def fix_item(stored: StoredProposal) -> dict[str, Any]:
    p = stored.proposal
    return {
        "id": p.id,
        "label": "SUGGESTION",
        "hypothesis": p.hypothesis_id,
        "kind": p.kind.value,
        "status": stored.status.value,
        "risk": p.risk.value,
        "service": p.service,
        "title": shorten(p.title, SUMMARY_CHARS),
        "has_diff": bool(p.diff),
    }
