"""Audit entries in plain language: one sentence per entry for timelines and status updates.

Unknown entities or actions (a later feature's) still read sensibly from the entry's own fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from incidentlens.report.references import one_line

if TYPE_CHECKING:
    from incidentlens.store.rows import AuditEntry

__all__ = ["describe", "quoted"]

_STEPS = {
    "ack": "acknowledged the incident",
    "own": "engaged as the owner (owned)",
    "mitigate": "marked the incident mitigated",
    "resolve": "marked the incident resolved",
    "close": "closed the incident",
    "reopen": "reopened the incident",
}


def quoted(text: Any) -> str:
    """A user's words, on one line, in typographic quotes (so they read as a quotation, not our claim)."""
    flat = one_line(str(text or ""))
    return f"“{flat}”" if flat else ""


def _note(data: Mapping[str, Any]) -> str:
    note = quoted(data.get("note"))
    return f" with the note {note}" if note else ""


def _incident(entry: AuditEntry, data: Mapping[str, Any]) -> str:
    if entry.action == "assign":
        return f"{entry.actor} assigned the incident to {data.get('owner')}{_note(data)}"
    if entry.action == "reassign":
        before, after = data.get("previous_owner"), data.get("owner")
        return f"{entry.actor} reassigned the incident from {before} to {after}{_note(data)}"
    if entry.action == "open":
        severity, service = data.get("severity", "unknown"), data.get("service") or "-"
        return f"IncidentLens opened the incident ({severity} severity, service {service})"
    if entry.action == "understand":
        return f"the incident was marked understood ({one_line(str(data.get('note', '')))})"
    if entry.action in _STEPS:
        return f"{entry.actor} {_STEPS[entry.action]}{_note(data)}"
    return f"{entry.actor} moved the incident to {data.get('event', entry.action)}{_note(data)}"


def _proposal(entry: AuditEntry, data: Mapping[str, Any]) -> str:
    pid, actor, action = entry.entity_id, entry.actor, entry.action
    comment = quoted(data.get("comment"))
    said = f" with the comment {comment}" if comment else ""
    if action == "proposed":
        return (
            f"IncidentLens proposed fix SUGGESTION {pid} ({data.get('kind')}) for hypothesis {data.get('hypothesis')}"
        )
    if action in ("validation_passed", "validation_failed"):
        tests = data.get("test_exit_code")
        ran = f"tests exited {tests}" if tests is not None else "no tests ran"
        outcome = "passed" if action == "validation_passed" else "failed"
        return f"{actor} validated fix {pid}: validation {outcome} (patch applies: {data.get('apply_ok')}, {ran})"
    if action == "approved":
        return f"{actor} approved fix {pid}{said}"
    if action == "rejected":
        return f"{actor} rejected fix {pid}{said}"
    if action == "approval_issued":
        approvers = ", ".join(map(str, data.get("approvers") or ()))
        return f"the approval gate issued approval {_short(data)} for fix {pid} (approvers {approvers})"
    if action == "approval_redeemed":
        return f"{actor} used approval {_short(data)} of fix {pid} for the {data.get('executor')} executor"
    if action in ("approval_refused", "execution_refused"):
        return f"the approval gate refused {actor}'s request on fix {pid}: {one_line(str(data.get('reason', '')))}"
    if action == "executed":
        return f"{actor} executed fix {pid} with {data.get('executor')}: {_result(data.get('result'))}"
    if action == "execution_failed":
        return f"{actor}'s execution of fix {pid} with {data.get('executor')} failed: {_result(data.get('result'))}"
    if action.startswith("prediction_"):
        outcome = action.removeprefix("prediction_")
        detail = one_line(str(data.get("detail", "")))
        return f"{actor} checked the prediction of fix {pid} on post-fix telemetry: {outcome} ({detail})"
    return f"{actor}: fix {pid} {action.replace('_', ' ')}"


def _short(data: Mapping[str, Any]) -> str:
    return str(data.get("approval", ""))[:8]


def _result(result: Any) -> str:
    if not isinstance(result, Mapping):
        return "no result recorded"
    if "error" in result:
        return one_line(str(result["error"]))
    shown = [f"{k} {str(v)[:12] if k in ('commit', 'base') else v}" for k, v in result.items() if v not in ("", None)]
    return ", ".join(shown) or "done"


def describe(entry: AuditEntry) -> str:
    """One plain sentence for an audit entry (no final full stop; no reference: the caller adds it)."""
    raw = entry.payload if entry.data else {}
    data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    if entry.entity == "incident":
        return _incident(entry, data)
    if entry.entity == "fix_proposal":
        return _proposal(entry, data)
    if entry.entity == "hypothesis":
        hypothesis = entry.entity_id.split("/", 1)[-1]
        comment = quoted(data.get("comment"))
        if entry.action == "confirm":
            return f"{entry.actor} confirmed hypothesis {hypothesis}" + (f": {comment}" if comment else "")
        if entry.action == "refute":
            return f"{entry.actor} refuted hypothesis {hypothesis}" + (f": {comment}" if comment else "")
    if entry.entity == "investigation" and entry.action == "record":
        names = ", ".join(map(str, data.get("hypotheses") or ())) or "none"
        return (
            f"IncidentLens recorded investigation {entry.entity_id} "
            f"({data.get('evidence', 0)} evidence records; hypotheses {names})"
        )
    return f"{entry.actor}: {entry.entity} {entry.entity_id} {entry.action.replace('_', ' ')}"
