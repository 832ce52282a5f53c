"""SQL for lifecycle steps, owner assignments and hypothesis decisions, run in the caller's transaction.

The workflow layer decides what is allowed and appends the audit entry in the same session.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidentlens.model.enums import HypothesisStatus, IncidentStatus
from incidentlens.store.convert import assignment, decision, incident_row, status_event
from incidentlens.store.errors import NotFoundError
from incidentlens.store.rows import Assignment, HypothesisDecision, IncidentFacts, IncidentRow, StatusEvent
from incidentlens.store.tables import (
    AssignmentRecord,
    HypothesisDecisionRecord,
    HypothesisRecord,
    IncidentRecord,
    InvestigationRecord,
    StatusEventRecord,
)


def incident_facts(session: Session, incident_id: str, *, lock: bool = False) -> IncidentFacts:
    """The incident with its status history and assignments; `lock` takes its row lock (PostgreSQL)."""
    query = sa.select(IncidentRecord).where(IncidentRecord.id == incident_id)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise NotFoundError(f"no incident {incident_id!r}")
    events = session.scalars(
        sa.select(StatusEventRecord)
        .where(StatusEventRecord.incident_id == row.id)
        .order_by(StatusEventRecord.at, StatusEventRecord.id)
    ).all()
    assignments = session.scalars(
        sa.select(AssignmentRecord).where(AssignmentRecord.incident_id == row.id).order_by(AssignmentRecord.id)
    ).all()
    count = session.scalar(sa.select(sa.func.count()).where(InvestigationRecord.incident_id == row.id)) or 0
    return IncidentFacts(
        incident=incident_row(row, investigation_count=int(count)),
        status_events=tuple(status_event(e) for e in events),
        assignments=tuple(assignment(a) for a in assignments),
    )


def all_facts(session: Session, *, since: datetime | None = None) -> list[IncidentFacts]:
    """Every incident (detected at or after `since`), oldest first, with history: three queries in all."""
    query = sa.select(IncidentRecord).order_by(IncidentRecord.detected_at, IncidentRecord.id)
    if since is not None:
        query = query.where(IncidentRecord.detected_at >= since)
    rows = session.scalars(query).all()
    ids = [row.id for row in rows]
    events: dict[str, list[StatusEvent]] = defaultdict(list)
    owners: dict[str, list[Assignment]] = defaultdict(list)
    if ids:
        for e in session.scalars(
            sa.select(StatusEventRecord)
            .where(StatusEventRecord.incident_id.in_(ids))
            .order_by(StatusEventRecord.at, StatusEventRecord.id)
        ):
            events[e.incident_id].append(status_event(e))
        for a in session.scalars(
            sa.select(AssignmentRecord).where(AssignmentRecord.incident_id.in_(ids)).order_by(AssignmentRecord.id)
        ):
            owners[a.incident_id].append(assignment(a))
    return [
        IncidentFacts(
            incident=incident_row(row, investigation_count=0),
            status_events=tuple(events[row.id]),
            assignments=tuple(owners[row.id]),
        )
        for row in rows
    ]


def add_status_event(
    session: Session,
    *,
    incident_id: str,
    event: StatusEvent,
    new_status: IncidentStatus,
) -> IncidentRow:
    """Append the event and set the incident's current status (which need not equal the event's)."""
    row = session.get(IncidentRecord, incident_id)
    if row is None:
        raise NotFoundError(f"no incident {incident_id!r}")
    row.status = new_status
    row.updated_at = event.at
    session.add(
        StatusEventRecord(incident_id=incident_id, status=event.status, at=event.at, actor=event.actor, note=event.note)
    )
    session.flush()
    count = session.scalar(sa.select(sa.func.count()).where(InvestigationRecord.incident_id == row.id)) or 0
    return incident_row(row, investigation_count=int(count))


def add_assignment(session: Session, *, incident_id: str, item: Assignment) -> None:
    session.add(
        AssignmentRecord(incident_id=incident_id, owner=item.owner, at=item.at, actor=item.actor, note=item.note)
    )
    session.flush()


def hypothesis_ids(session: Session, incident_id: str) -> set[str]:
    """Every hypothesis id any investigation of the incident ranked."""
    query = sa.select(HypothesisRecord.id).where(HypothesisRecord.incident_id == incident_id).distinct()
    return set(session.scalars(query))


def decisions(session: Session, incident_id: str, *, hypothesis_id: str | None = None) -> list[HypothesisDecision]:
    """Decisions in the order recorded (the last one per hypothesis id is in force)."""
    query = (
        sa.select(HypothesisDecisionRecord)
        .where(HypothesisDecisionRecord.incident_id == incident_id)
        .order_by(HypothesisDecisionRecord.id)
    )
    if hypothesis_id is not None:
        query = query.where(HypothesisDecisionRecord.hypothesis_id == hypothesis_id)
    return [decision(row) for row in session.scalars(query)]


def add_decision(session: Session, *, incident_id: str, item: HypothesisDecision) -> None:
    if item.decision not in (HypothesisStatus.CONFIRMED, HypothesisStatus.REFUTED):
        raise ValueError(f"a decision is confirmed or refuted, not {item.decision}")
    session.add(
        HypothesisDecisionRecord(
            incident_id=incident_id,
            hypothesis_id=item.hypothesis_id,
            decision=item.decision,
            comment=item.comment,
            actor=item.actor,
            at=item.at,
        )
    )
    session.flush()
