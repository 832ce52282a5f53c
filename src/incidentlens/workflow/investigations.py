"""Recording an investigation's result: which incident it belongs to and how a new incident starts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from incidentlens import __version__
from incidentlens.errors import StoreError
from incidentlens.model.enums import IncidentStatus, Severity
from incidentlens.model.records import Evidence, Hypothesis
from incidentlens.store import repository
from incidentlens.store.database import Database
from incidentlens.store.rows import IncidentDraft, InvestigationDraft, RecordedInvestigation, StatusEvent
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.incidents import INCIDENT_ENTITY

SYSTEM_ACTOR = "incidentlens"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns_to_datetime(ns: int) -> datetime:
    """UTC datetime from Unix nanoseconds, truncated to the microseconds a database keeps."""
    try:
        return _EPOCH + timedelta(microseconds=ns // 1_000)
    except OverflowError as exc:
        raise StoreError(f"time {ns} ns is outside the dates a database can store") from exc


def record_investigation(
    db: Database,
    *,
    title: str,
    service: str | None,
    severity: Severity,
    detected_ns: int,
    alert_fingerprint: str,
    evidence: Sequence[Evidence],
    hypotheses: Sequence[Hypothesis],
    brief_json: str,
    workspace: str,
    inputs: dict[str, Any],
    started_at: datetime | None = None,
    now: datetime | None = None,
    into_incident: str | None = None,
) -> RecordedInvestigation:
    """Store one investigation in one transaction.

    An investigation of an alert whose fingerprint already has an open incident is added to that
    incident (earlier investigations stay); otherwise a new incident starts in `investigating`, with
    the detected, opened and investigating steps recorded as status events. The audit chain records
    both (actor `incidentlens`) in the same transaction. `now` is for tests and replays. `into_incident`
    records onto that incident whatever its status (a background job for an incident resolved meanwhile).
    """
    now = now if now is not None else datetime.now(UTC)
    detected_at = ns_to_datetime(detected_ns)
    try:
        brief = orjson.loads(brief_json)
    except orjson.JSONDecodeError as exc:
        raise StoreError(f"cannot record investigation {title!r}: the brief is not valid JSON: {exc}") from exc
    incident = IncidentDraft(
        title=title,
        service=service,
        severity=Severity(severity),
        detected_at=detected_at,
        opened_at=now,
        alert_fingerprint=alert_fingerprint,
        status=IncidentStatus.INVESTIGATING,
        events=(
            StatusEvent(IncidentStatus.DETECTED, detected_at, SYSTEM_ACTOR, "alert or signal first seen"),
            StatusEvent(IncidentStatus.OPENED, now, SYSTEM_ACTOR, "incident opened"),
            StatusEvent(IncidentStatus.INVESTIGATING, now, SYSTEM_ACTOR, "investigation recorded"),
        ),
    )
    investigation = InvestigationDraft(
        started_at=started_at if started_at is not None else now,
        finished_at=now,
        workspace=workspace,
        input_summary=inputs,
        brief=brief,
        tool_version=__version__,
    )
    with db.session() as session:
        recorded = repository.add_investigation(
            session,
            incident=incident,
            investigation=investigation,
            evidence=evidence,
            hypotheses=hypotheses,
            now=now,
            into_incident=into_incident,
        )
        if recorded.created_incident:
            append_audit(
                session,
                actor=SYSTEM_ACTOR,
                entity=INCIDENT_ENTITY,
                entity_id=recorded.incident_id,
                action="open",
                at=now,
                incident_id=recorded.incident_id,
                data={
                    "title": title,
                    "service": service,
                    "severity": incident.severity,
                    "alert_fingerprint": alert_fingerprint,
                    "events": [{"status": e.status, "at": e.at, "actor": e.actor} for e in incident.events],
                },
            )
        append_audit(
            session,
            actor=SYSTEM_ACTOR,
            entity="investigation",
            entity_id=str(recorded.investigation_id),
            action="record",
            at=now,
            incident_id=recorded.incident_id,
            data={
                "hypotheses": [h.id for h in hypotheses],
                "evidence": len(evidence),
                "tool_version": __version__,
            },
        )
    if not recorded.created_incident:  # a new investigation may move the leader: the title follows the ledger
        from incidentlens.workflow.ledger import refresh_title

        refresh_title(db, recorded.incident_id)
    return recorded


def recorded_repository(db: Database, incident_id: str) -> Path | None:
    """The repository `investigate --repo` recorded with the incident's latest investigation that had one."""
    for investigation in repository.get_incident(db, incident_id).investigations:
        where = investigation.input_summary.get("repository")
        if isinstance(where, str) and where:
            return Path(where)
    return None
