"""The read-only tools: incidents, the ledger, evidence, code, the memory, the audit trail, stored fixes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from incidentlens.errors import InputError
from incidentlens.locate.frame_text import frames_from_text
from incidentlens.locate.locatecode import QueryKind, locate_code
from incidentlens.mcp_server.compact import (
    audit_item,
    evidence_full,
    evidence_item,
    fix_item,
    incident_item,
    ledger_item,
)
from incidentlens.mcp_server.context import ToolContext
from incidentlens.mcp_server.paging import page, shorten
from incidentlens.memory.fingerprint import Symptoms
from incidentlens.memory.indexing import load_index
from incidentlens.memory.retrieve import SEEN_BEFORE, is_seen_before, strongest
from incidentlens.model import Evidence
from incidentlens.model.enums import EvidenceKind, HypothesisStatus, IncidentStatus
from incidentlens.store.errors import NotFoundError
from incidentlens.store.repository import get_brief, get_incident, list_incidents
from incidentlens.store.rows import IncidentDetail, IncidentFacts
from incidentlens.workflow.audit import audit_trail, verify_audit
from incidentlens.workflow.ledger import ledger_entries
from incidentlens.workflow.lifecycle import current_owner
from incidentlens.workflow.metrics import incident_metrics
from incidentlens.workflow.proposals import describe, get_fix, list_fixes
from incidentlens.workflow.validate import repo_config

__all__ = [
    "get_evidence",
    "list_evidence",
    "list_incident_fixes",
    "list_incidents_tool",
    "locate_code_tool",
    "search_memory",
    "show_audit",
    "show_fix",
    "show_incident",
    "show_ledger",
]

TOP_SHOWN = 5
HISTORY_SHOWN = 5
MAX_EXCERPT = 4_000
MAX_IDS = 20


def list_incidents_tool(
    ctx: ToolContext, *, status: IncidentStatus | None, service: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    rows = list_incidents(ctx.db, status=status)
    if service:
        rows = [r for r in rows if r.service == service]
    chunk, paging = page(rows, limit=limit, cursor=cursor)
    return {"incidents": [incident_item(r) for r in chunk], **paging}


def show_incident(ctx: ToolContext, *, incident_id: str) -> dict[str, Any]:
    detail = get_incident(ctx.db, incident_id)
    facts = IncidentFacts(incident=detail.incident, status_events=detail.status_events, assignments=detail.assignments)
    metrics = incident_metrics(facts)
    ledger = ledger_entries(detail)
    latest = [e for e in ledger if e.in_latest_investigation]
    return {
        **incident_item(detail.incident),
        "owner": current_owner(detail.assignments),
        "recent_status": [
            {"status": e.status.value, "at": e.at.isoformat(), "actor": e.actor}
            for e in detail.status_events[-HISTORY_SHOWN:]
        ],
        "top_hypotheses": [ledger_item(e) for e in latest[:TOP_SHOWN]],
        "hypotheses_total": len(ledger),
        "evidence_total": len(detail.evidence),
        "metrics_seconds": {
            m.value: (d.total_seconds() if d is not None else None) for m, d in metrics.durations.items()
        },
        "next": "show_ledger for every hypothesis, list_evidence / get_evidence for the evidence ids",
    }


def show_ledger(
    ctx: ToolContext, *, incident_id: str, status: HypothesisStatus | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    entries = ledger_entries(get_incident(ctx.db, incident_id))
    if status is not None:
        entries = [e for e in entries if e.status is status]
    chunk, paging = page(entries, limit=limit, cursor=cursor)
    return {"incident": incident_id, "hypotheses": [ledger_item(e) for e in chunk], **paging}


def _evidence_of(ctx: ToolContext, incident_id: str | None, run_id: str | None) -> tuple[str, dict[str, Evidence]]:
    if (incident_id is None) == (run_id is None):
        raise InputError("give either incident_id (a recorded incident) or run_id (from investigate)")
    if run_id is not None:
        return run_id, ctx.runs.get(run_id).evidence
    assert incident_id is not None
    return incident_id, {e.id: e for e in get_incident(ctx.db, incident_id).evidence}


def list_evidence(
    ctx: ToolContext,
    *,
    incident_id: str | None,
    run_id: str | None,
    kind: EvidenceKind | None,
    service: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    owner, evidence = _evidence_of(ctx, incident_id, run_id)
    items = sorted(evidence.values(), key=lambda e: -e.score)
    if kind is not None:
        items = [e for e in items if e.kind is kind]
    if service:
        items = [e for e in items if e.service == service]
    chunk, paging = page(items, limit=limit, cursor=cursor)
    return {"of": owner, "evidence": [evidence_item(e) for e in chunk], **paging}


def get_evidence(
    ctx: ToolContext, *, evidence_ids: list[str], incident_id: str | None, run_id: str | None, excerpt_chars: int
) -> dict[str, Any]:
    if not evidence_ids:
        raise InputError("give at least one evidence id (see list_evidence or a hypothesis's supporting ids)")
    if len(evidence_ids) > MAX_IDS:
        raise InputError(f"at most {MAX_IDS} evidence ids per call, not {len(evidence_ids)}")
    if not 1 <= excerpt_chars <= MAX_EXCERPT:
        raise InputError(f"excerpt_chars must be from 1 to {MAX_EXCERPT}, not {excerpt_chars}")
    owner, evidence = _evidence_of(ctx, incident_id, run_id)
    found = [
        evidence_full(evidence[i], excerpt_chars=excerpt_chars) for i in dict.fromkeys(evidence_ids) if i in evidence
    ]
    missing = [i for i in dict.fromkeys(evidence_ids) if i not in evidence]
    if not found:
        raise NotFoundError(f"{owner} has no evidence {', '.join(missing)} (see list_evidence)")
    return {"of": owner, "evidence": found, "missing": missing}


def _repository(ctx: ToolContext, repository: str | None, service: str | None, incident_id: str | None) -> Path:
    """A configured repository (by name, or the one serving `service`), else the one recorded with the incident.

    Never a path from the caller: over HTTP that would let a client read any repository on the server.
    """
    settings = ctx.settings.workflow
    section = settings.section("repositories")
    if repository is not None:
        if repository not in section:
            known = ", ".join(sorted(map(str, section))) or "none (add a 'repositories:' section to the settings)"
            raise InputError(f"unknown repository {repository!r}; configured: {known}")
        config = repo_config(settings, repository)
        assert config is not None
        return config.path
    recorded = _recorded_repository(ctx, incident_id) if incident_id else None
    config = repo_config(settings, service or "", required=False, recorded=recorded)
    if config is None:
        raise InputError(
            "no repository to search: give repository (a name under 'repositories:' in the settings), "
            "a service with a configured repository, or an incident_id recorded with --repo"
        )
    return config.path


def _recorded_repository(ctx: ToolContext, incident_id: str) -> Path | None:
    detail = get_incident(ctx.db, incident_id)
    where = next(
        (i.input_summary.get("repository") for i in detail.investigations if i.input_summary.get("repository")), None
    )
    return Path(where) if isinstance(where, str) else None


def locate_code_tool(
    ctx: ToolContext,
    *,
    frame: str | None,
    log_line: str | None,
    span: str | None,
    service: str | None,
    repository: str | None,
    incident_id: str | None,
    limit: int,
) -> dict[str, Any]:
    given = [name for name, value in (("frame", frame), ("log_line", log_line), ("span", span)) if value]
    if len(given) != 1:
        raise InputError("give exactly one of frame (a stack frame or pasted trace), log_line or span")
    repo = _repository(ctx, repository, service, incident_id)
    frames, loggers = frames_from_text(frame, label="frame") if frame else ([], [])
    result = locate_code(
        repo,
        service=service,
        frames=frames,
        loggers=loggers,
        log_lines=[log_line] if log_line else [],
        spans=[span] if span else [],
    )
    if frame and frames:  # a trace: each frame's best place, in the order printed
        locations = [q.locations[0] for q in result.of_kind(QueryKind.FRAME) if q.locations]
    else:
        locations = list(result.ranked())
    notes = list(result.notes)
    if result.library_frames:
        notes.append(f"set aside {result.library_frames} library/runtime frame(s)")
    chunk, paging = page(locations, limit=limit, cursor=None)
    return {
        "locations": [
            {
                "path": loc.path,
                "line": loc.line,
                "end_line": loc.end_line,
                "function": loc.function,
                "confidence": round(loc.confidence, 3),
                "why": shorten(loc.why, 240),
                "snippet": shorten(loc.snippet or "", 600),
            }
            for loc in chunk
        ],
        "total": paging["total"],
        "notes": notes,
    }


def _symptoms(ctx: ToolContext, incident_id: str | None, run_id: str | None) -> Symptoms:
    if (incident_id is None) == (run_id is None):
        raise InputError("give either incident_id (a recorded incident) or run_id (from investigate)")
    if run_id is not None:
        symptoms = ctx.runs.get(run_id).brief.symptoms
        if symptoms is None:
            raise InputError(f"{run_id} found no symptoms to look up")
        return symptoms
    assert incident_id is not None
    detail: IncidentDetail = get_incident(ctx.db, incident_id)
    if not detail.investigations:
        raise InputError(f"incident {incident_id} has no investigation to take symptoms from")
    brief = get_brief(ctx.db, investigation_id=detail.investigations[0].id)
    if not isinstance(brief, dict) or not isinstance(brief.get("symptoms"), dict):
        raise InputError(f"the latest brief of {incident_id} stores no symptoms: investigate it again")
    return Symptoms.from_dict(brief["symptoms"])


def search_memory(ctx: ToolContext, *, incident_id: str | None, run_id: str | None, limit: int) -> dict[str, Any]:
    symptoms = _symptoms(ctx, incident_id, run_id)
    index = load_index(ctx.db)
    matches = index.search(symptoms, limit=min(max(limit, 1), 20), exclude=incident_id or "")
    return {
        "indexed": len(index),
        "seen_before_threshold": SEEN_BEFORE,
        "matches": [
            {
                "incident_id": m.fingerprint.incident_id,
                "title": shorten(m.fingerprint.title, 240),
                "similarity": round(m.similarity, 3),
                "seen_before": is_seen_before(m),
                "cause": None
                if m.fingerprint.cause is None
                else {
                    "service": m.fingerprint.cause.service,
                    "fault": m.fingerprint.cause.fault.value,
                    "confirmed": m.fingerprint.cause.confirmed,
                },
                "fix": shorten(m.fingerprint.fix, 240),
                "owners": list(m.fingerprint.owners),
                "matched": [f.describe() for f in strongest(m.matched)[:3]],
            }
            for m in matches
        ],
    }


def show_audit(ctx: ToolContext, *, incident_id: str, limit: int, cursor: str | None, verify: bool) -> dict[str, Any]:
    get_incident(ctx.db, incident_id)  # an unknown incident is an error, not an empty trail
    entries = audit_trail(ctx.db, incident_id=incident_id)
    chunk, paging = page(entries, limit=limit, cursor=cursor)
    shown: dict[str, Any] = {"incident": incident_id, "entries": [audit_item(e) for e in chunk], **paging}
    if verify:
        result = verify_audit(ctx.db)
        shown["chain"] = {
            "ok": result.ok,
            "entries": result.entries,
            "first_bad_seq": result.first_bad_seq,
            "reason": result.reason,
        }
    return shown


def list_incident_fixes(ctx: ToolContext, *, incident_id: str) -> dict[str, Any]:
    get_incident(ctx.db, incident_id)
    stored = list_fixes(ctx.db, incident_id=incident_id)
    return {"incident": incident_id, "fixes": [fix_item(p) for p in stored]}


def show_fix(ctx: ToolContext, *, proposal_id: str, diff_chars: int) -> dict[str, Any]:
    data = describe(get_fix(ctx.db, proposal_id=proposal_id))
    return {
        **{k: data[k] for k in ("id", "label", "incident", "hypothesis", "kind", "status", "risk", "service", "title")},
        "rationale": shorten(data["rationale"], 1_000),
        "evidence_ids": data["evidence_ids"],
        "prediction": data["prediction"]["statement"] if data["prediction"] else None,
        "validation": data["validation_summary"] or None,
        "diff": shorten(data["diff"] or "", diff_chars) or None,
        "action": data["action"] or None,
        "approval": "a person approves and executes with `incidentlens fix approve|execute` or the web console",
    }
