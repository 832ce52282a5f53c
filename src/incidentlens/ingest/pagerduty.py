"""PagerDuty v3 webhook events -> alert rows (one per incident event).

Accepted: one `{"event": {...}}` payload, a JSON list of them, or JSON lines of them. Only events
about incidents (`resource_type` "incident") carry an incident; other events are reported and skipped.
Mapping from `event.data` (the incident): name = title; service = service.summary; fingerprint = id;
status triggered/acknowledged -> firing, resolved -> resolved; starts_ns = created_at (else the event's
occurred_at); ends_ns = occurred_at for a resolved incident, else 0; severity = the priority name
(P1..P5) through `normalize_severity`, else urgency high -> high, low -> info (low-urgency incidents
do not page anyone); summary = the incident's summary, else its title.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from incidentlens.ingest.alertmanager import normalize_severity
from incidentlens.ingest.common import dumps, parse_time_ns
from incidentlens.ingest.prometheus import iter_json_documents
from incidentlens.ingest.sink import RowSink

_STATUS = {"triggered": "firing", "acknowledged": "firing", "resolved": "resolved"}
_URGENCY = {"high": "high", "low": "info"}
_EVENT_RE = re.compile(r'"event"\s*:\s*\{')
_TYPE_RE = re.compile(r'"event_type"\s*:\s*"(incident|service|pagey)\.')
_RESOURCE_RE = re.compile(r'"resource_type"\s*:\s*"')


def _summary_of(value: Any) -> str:
    """The `summary` of a PagerDuty reference object ({id, type, summary, ...})."""
    return str(value.get("summary") or "") if isinstance(value, dict) else ""


def _list(value: Any) -> list[Any]:
    """A list field as a list; anything else (a number, an object) holds no entries."""
    return value if isinstance(value, list) else []


def _severity(incident: dict[str, Any]) -> str:
    priority = normalize_severity(_summary_of(incident.get("priority")))
    if priority != "unknown":
        return priority
    return _URGENCY.get(str(incident.get("urgency") or "").lower(), "unknown")


def add_event(payload: Any, where: str, sink: RowSink) -> bool:
    """The alert row of one webhook payload; reports and skips what is not an incident event."""
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict):
        sink.problem(where, "not a PagerDuty v3 webhook payload (no 'event' object)")
        return False
    event_type = str(event.get("event_type") or "")
    incident = event.get("data")
    if event.get("resource_type") != "incident" or not isinstance(incident, dict):
        sink.problem(where, f"event {event_type!r} is not about an incident; skipped")
        return False
    if incident.get("type") not in (None, "incident") and isinstance(incident.get("incident"), dict):
        incident = incident["incident"]  # annotations, responder events: data wraps an incident reference
    status = _STATUS.get(str(incident.get("status") or ""))
    occurred_ns = parse_time_ns(event.get("occurred_at"))
    starts_ns = parse_time_ns(incident.get("created_at")) or occurred_ns
    if not starts_ns:
        sink.problem(where, f"event {event_type!r}: neither created_at nor occurred_at is a time")
        return False
    if status is None:
        # Reference-only incidents (no status) keep the event's own verdict when it has one.
        status = "resolved" if event_type == "incident.resolved" else "firing"
    details = {
        "event_type": event_type,
        "event_id": event.get("id", ""),
        "incident_key": incident.get("incident_key", ""),
        "number": incident.get("number"),
        "html_url": incident.get("html_url", ""),
        "urgency": incident.get("urgency", ""),
        "priority": _summary_of(incident.get("priority")),
        "service_id": (incident.get("service") or {}).get("id", "")
        if isinstance(incident.get("service"), dict)
        else "",
        "assignees": [_summary_of(a) for a in _list(incident.get("assignees")) if isinstance(a, dict)],
        "teams": [_summary_of(t) for t in _list(incident.get("teams")) if isinstance(t, dict)],
        "escalation_policy": _summary_of(incident.get("escalation_policy")),
        "agent": _summary_of(event.get("agent")),
    }
    title = str(incident.get("title") or incident.get("summary") or "")
    sink.alerts.add(
        starts_ns=starts_ns,
        ends_ns=(occurred_ns or 0) if status == "resolved" else 0,
        name=title,
        service=_summary_of(incident.get("service")),
        severity=_severity(incident),
        status=status,
        fingerprint=str(incident.get("id") or ""),
        summary=str(incident.get("summary") or title),
        labels=dumps(details),
        source=where,
    )
    return True


class _PagerDutyReader:
    name = "pagerduty"
    signals = ("alerts",)

    def sniff(self, head: str, path: Path) -> bool:
        if not head.lstrip().startswith(("{", "[")):
            return False
        return bool(_EVENT_RE.search(head) and _TYPE_RE.search(head) and _RESOURCE_RE.search(head))

    def read(self, path: Path, sink: RowSink) -> None:
        for position, payload in iter_json_documents(path, sink):
            add_event(payload, f"{path}{position}", sink)


READER = _PagerDutyReader()
