"""Alerts in: parse webhook payloads with the ingest readers, open or update incidents, queue investigations.

All alerts of one payload are accepted in one transaction: each firing alert opens an incident (or updates
the open one with its fingerprint) and its investigation job is queued or coalesced into a waiting one. If the
queue is full and an alert cannot be coalesced, nothing is written and QueueFullError (503) is raised, so the
sender retries; no alert is dropped silently. Resolved alerts never open incidents (humans resolve them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from incidentlens.errors import InputError
from incidentlens.ingest.alertmanager import add_alert
from incidentlens.ingest.pagerduty import add_event
from incidentlens.ingest.sink import RowSink
from incidentlens.model.enums import IncidentStatus, Severity
from incidentlens.store.database import Database
from incidentlens.store.intake_repository import QueuedJob, open_incidents, queue_jobs, touch_incidents
from incidentlens.store.repository import create_incident, lock_fingerprints
from incidentlens.store.rows import IncidentDraft, StatusEvent
from incidentlens.web.errors import QueueFullError
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.incidents import INCIDENT_ENTITY
from incidentlens.workflow.investigations import SYSTEM_ACTOR, ns_to_datetime

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["INVESTIGATE", "AlertOutcome", "IntakeResult", "ParsedAlert", "accept_alerts", "parse_payload"]

INVESTIGATE = "investigate"
RETRY_AFTER_SECONDS = 30


@dataclass(frozen=True, slots=True)
class ParsedAlert:
    """One alert as the ingest reader saw it, plus what the worker needs to replay it into a telemetry store."""

    source: str
    fingerprint: str
    name: str
    service: str
    severity: Severity
    status: str
    starts_ns: int
    summary: str
    replay: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    fingerprint: str
    status: str
    incident_id: str | None
    action: str  # opened | updated | resolved_noted | resolved_unknown
    job_id: int | None = None
    coalesced: bool = False


@dataclass
class IntakeResult:
    outcomes: list[AlertOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_payload(source: str, payload: Any) -> tuple[list[ParsedAlert], list[str]]:
    """Alerts of an Alertmanager v4 or PagerDuty v3 payload, and the problems of those skipped."""
    items: list[tuple[dict[str, Any], RowSink]] = []
    problems: list[str] = []
    if source == "alertmanager":
        if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
            raise InputError("not an Alertmanager webhook payload: expected an object with an 'alerts' list")
        group_key = str(payload.get("groupKey") or "")
        for i, alert in enumerate(payload["alerts"]):
            sink = RowSink()
            if add_alert(alert, f"alerts[{i}]", sink, group_key=group_key):
                items.append(({"source": source, "group_key": group_key, "alert": alert}, sink))
            problems.extend(str(p) for p in sink.problems)
    elif source == "pagerduty":
        sink = RowSink()
        if add_event(payload, "event", sink):
            items.append(({"source": source, "payload": payload}, sink))
        problems.extend(str(p) for p in sink.problems)
    else:
        raise InputError(f"unknown alert source {source!r}")
    return [_parsed(source, replay, sink) for replay, sink in items], problems


def replay_into(sink: RowSink, replay: dict[str, Any]) -> None:
    """Add a queued alert back into a sink (the worker's telemetry store) the way the webhook parsed it."""
    if replay.get("source") == "alertmanager":
        add_alert(replay.get("alert"), "webhook alert", sink, group_key=str(replay.get("group_key") or ""))
    elif replay.get("source") == "pagerduty":
        add_event(replay.get("payload"), "webhook event", sink)


def _parsed(source: str, replay: dict[str, Any], sink: RowSink) -> ParsedAlert:
    cols = sink.alerts.to_arrays()
    fingerprint = str(cols["fingerprint"][0])
    if not fingerprint:
        # No fingerprint from the sender: the alert's identity is its group and labels.
        fingerprint = hashlib.sha256(orjson.dumps(replay, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    severity = str(cols["severity"][0])
    return ParsedAlert(
        source=source,
        fingerprint=fingerprint,
        name=str(cols["name"][0]),
        service=str(cols["service"][0]),
        severity=Severity(severity) if severity in set(Severity) else Severity.UNKNOWN,
        status=str(cols["status"][0]),
        starts_ns=int(cols["starts_ns"][0]),
        summary=str(cols["summary"][0]),
        replay=replay,
    )


def accept_alerts(
    db: Database, *, alerts: list[ParsedAlert], max_queued: int, now: datetime | None = None
) -> list[AlertOutcome]:
    """Open or update incidents and queue investigations for `alerts`, all in one transaction.

    Set-based: the batch's fingerprints are locked (sorted, so two replicas taking overlapping batches cannot
    deadlock), looked up, touched and queued in a few statements whatever its size; only incidents opened for
    the first time are written one by one (with their audit entry). Alerts of the batch that share a
    fingerprint are written once (the last one's payload, counted as that many alerts on the job).
    """
    now = now if now is not None else datetime.now(UTC)
    firing: dict[str, list[ParsedAlert]] = {}
    for alert in alerts:
        if alert.status == "firing":
            firing.setdefault(alert.fingerprint, []).append(alert)
    fingerprints = {alert.fingerprint for alert in alerts}
    with db.session() as session:
        lock_fingerprints(session, fingerprints)
        incidents = open_incidents(session, fingerprints)
        touch_incidents(session, list(incidents.values()), now=now)
        opened = {fp: _open(session, same[-1], now=now) for fp, same in sorted(firing.items()) if fp not in incidents}
        incidents.update(opened)
        wanted = {incidents[fp]: (same[-1].replay, len(same)) for fp, same in firing.items()}
        jobs = queue_jobs(session, wanted, kind=INVESTIGATE, now=now, max_queued=max_queued)
        if jobs is None:
            raise QueueFullError(
                f"the investigation queue is full ({max_queued} waiting) and this payload's incidents have no "
                "waiting job to join; nothing was recorded, retry later",
                retry_after=RETRY_AFTER_SECONDS,
            )
    return _outcomes(alerts, incidents, set(opened), jobs)


def _open(session: Session, alert: ParsedAlert, *, now: datetime) -> str:
    """Open the incident of a firing alert that has none (with its audit entry); its id."""
    detected = min(ns_to_datetime(alert.starts_ns), now)
    title = f"{alert.name}: {alert.summary}" if alert.summary and alert.summary != alert.name else alert.name
    draft = IncidentDraft(
        title=(title or "alert")[:500],
        service=alert.service or None,
        severity=alert.severity,
        detected_at=detected,
        opened_at=now,
        alert_fingerprint=alert.fingerprint,
        status=IncidentStatus.OPENED,
        events=(
            StatusEvent(IncidentStatus.DETECTED, detected, SYSTEM_ACTOR, "alert started"),
            StatusEvent(IncidentStatus.OPENED, now, SYSTEM_ACTOR, f"opened by a {alert.source} webhook"),
        ),
    )
    incident = create_incident(session, draft, now=now)
    append_audit(
        session,
        actor=SYSTEM_ACTOR,
        entity=INCIDENT_ENTITY,
        entity_id=incident.id,
        action="open",
        at=now,
        incident_id=incident.id,
        data={
            "title": draft.title,
            "service": draft.service,
            "severity": draft.severity,
            "alert_fingerprint": alert.fingerprint,
            "source": alert.source,
            "events": [{"status": e.status, "at": e.at, "actor": e.actor} for e in draft.events],
        },
    )
    return incident.id


def _outcomes(
    alerts: list[ParsedAlert], incidents: dict[str, str], opened: set[str], jobs: dict[str, QueuedJob]
) -> list[AlertOutcome]:
    """One outcome per alert, in order: a repeat of a fingerprint reads as coalesced into the first's job."""
    outcomes: list[AlertOutcome] = []
    seen: set[str] = set()
    for alert in alerts:
        fp = alert.fingerprint
        incident_id = incidents.get(fp)
        if alert.status != "firing":
            action = "resolved_noted" if incident_id is not None else "resolved_unknown"
            outcomes.append(AlertOutcome(fp, alert.status, incident_id, action))
            continue
        assert incident_id is not None  # every firing fingerprint has an open incident by now
        job = jobs[incident_id]
        first = fp not in seen
        seen.add(fp)
        action = "opened" if first and fp in opened else "updated"
        outcomes.append(AlertOutcome(fp, alert.status, incident_id, action, job.id, job.coalesced or not first))
    return outcomes
