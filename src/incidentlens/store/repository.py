"""Data functions over the workflow database. Keyword-only arguments; each call is one transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidentlens.errors import StoreError
from incidentlens.model.enums import IncidentStatus
from incidentlens.model.records import Evidence, Hypothesis
from incidentlens.store.convert import (
    assignment,
    decision,
    evidence_from,
    evidence_record,
    hypothesis_from,
    hypothesis_record,
    incident_row,
    investigation_row,
    status_event,
)
from incidentlens.store.database import Database
from incidentlens.store.errors import NotFoundError
from incidentlens.store.rows import (
    CLOSED_STATUSES,
    IncidentDetail,
    IncidentDraft,
    IncidentRow,
    InvestigationDraft,
    RecordedInvestigation,
    StatusEvent,
    StoredHypothesis,
)
from incidentlens.store.tables import (
    INCIDENT_SEQUENCE,
    AssignmentRecord,
    EvidenceRecord,
    HypothesisDecisionRecord,
    HypothesisRecord,
    IdSequenceRow,
    IncidentRecord,
    InvestigationRecord,
    StatusEventRecord,
)


def record_investigation(
    db: Database,
    *,
    incident: IncidentDraft,
    investigation: InvestigationDraft,
    evidence: Sequence[Evidence],
    hypotheses: Sequence[Hypothesis],
    now: datetime,
    into_incident: str | None = None,
) -> RecordedInvestigation:
    """Add an investigation to the open incident with the draft's fingerprint, or create the incident.

    `into_incident` names the incident outright (a queued job's, even if it was resolved meanwhile).
    Evidence already recorded for the incident under the same (stable) id is kept, not replaced.
    """
    with db.session() as session:
        return add_investigation(
            session,
            incident=incident,
            investigation=investigation,
            evidence=evidence,
            hypotheses=hypotheses,
            now=now,
            into_incident=into_incident,
        )


def add_investigation(
    session: Session,
    *,
    incident: IncidentDraft,
    investigation: InvestigationDraft,
    evidence: Sequence[Evidence],
    hypotheses: Sequence[Hypothesis],
    now: datetime,
    into_incident: str | None = None,
) -> RecordedInvestigation:
    """`record_investigation` in the caller's transaction, so an audit entry can commit with it."""
    if into_incident is not None:
        row = session.get(IncidentRecord, into_incident)
        if row is None:
            raise NotFoundError(f"no incident {into_incident!r} to record the investigation on")
    else:
        row = _open_incident_by_fingerprint(session, incident.alert_fingerprint)
    created = row is None
    if row is None:
        row = create_incident(session, incident, now=now)
    else:
        row.updated_at = now
    inv = InvestigationRecord(
        incident_id=row.id,
        started_at=investigation.started_at,
        finished_at=investigation.finished_at,
        workspace=investigation.workspace,
        input_summary=investigation.input_summary,
        brief=investigation.brief,
        tool_version=investigation.tool_version,
    )
    session.add(inv)
    session.flush()
    repeated = sorted(key for key, n in Counter(e.id for e in evidence).items() if n > 1)
    if repeated:
        raise StoreError(
            f"cannot record investigation for {row.id}: evidence id(s) given more than once: "
            + ", ".join(repr(key) for key in repeated[:5])
        )
    known: set[str] = set()
    if not created:
        known = set(session.scalars(sa.select(EvidenceRecord.id).where(EvidenceRecord.incident_id == row.id)))
    session.add_all(
        evidence_record(item, incident_id=row.id, investigation_id=inv.id) for item in evidence if item.id not in known
    )
    session.add_all(
        hypothesis_record(item, incident_id=row.id, investigation_id=inv.id, rank=rank, created_at=now)
        for rank, item in enumerate(hypotheses, start=1)
    )
    return RecordedInvestigation(incident_id=row.id, investigation_id=inv.id, created_incident=created)


def set_incident_status(
    db: Database, *, incident_id: str, status: IncidentStatus, at: datetime, actor: str, note: str = ""
) -> IncidentRow:
    """Move an incident to `status` and append the event; the lifecycle rules live in `workflow/`."""
    with db.session() as session:
        row = _incident(session, incident_id, db)
        row.status = status
        row.updated_at = at
        session.add(StatusEventRecord(incident_id=row.id, status=status, at=at, actor=actor, note=note))
        session.flush()
        return incident_row(row, investigation_count=_investigation_count(session, row.id))


def set_incident_title(db: Database, *, incident_id: str, title: str) -> None:
    """Retitle an incident (its title follows the hypothesis ledger; see `workflow/ledger.py`)."""
    with db.session() as session:
        _incident(session, incident_id, db).title = title


def list_incidents(db: Database, *, status: IncidentStatus | None = None) -> list[IncidentRow]:
    """Incidents newest first, each with how many investigations it has."""
    counts = (
        sa.select(InvestigationRecord.incident_id, sa.func.count().label("n"))
        .group_by(InvestigationRecord.incident_id)
        .subquery()
    )
    query = (
        sa.select(IncidentRecord, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.incident_id == IncidentRecord.id)
        .order_by(IncidentRecord.created_at.desc(), IncidentRecord.id.desc())
    )
    if status is not None:
        query = query.where(IncidentRecord.status == status)
    with db.session(readonly=True) as session:
        return [incident_row(row, investigation_count=n) for row, n in session.execute(query)]


def get_incident(db: Database, incident_id: str) -> IncidentDetail:
    """The incident with its investigations and hypotheses (latest investigation first) and evidence."""
    with db.session(readonly=True) as session:
        row = _incident(session, incident_id, db)
        investigations = session.scalars(
            sa.select(InvestigationRecord)
            .where(InvestigationRecord.incident_id == row.id)
            .order_by(InvestigationRecord.id.desc())
        ).all()
        hypotheses = session.scalars(
            sa.select(HypothesisRecord)
            .where(HypothesisRecord.incident_id == row.id)
            .order_by(HypothesisRecord.investigation_id.desc(), HypothesisRecord.rank)
        ).all()
        evidence = session.scalars(
            sa.select(EvidenceRecord)
            .where(EvidenceRecord.incident_id == row.id)
            .order_by(EvidenceRecord.investigation_id.desc(), EvidenceRecord.score.desc(), EvidenceRecord.id)
        ).all()
        events = session.scalars(
            sa.select(StatusEventRecord)
            .where(StatusEventRecord.incident_id == row.id)
            .order_by(StatusEventRecord.at, StatusEventRecord.id)
        ).all()
        assignments = session.scalars(
            sa.select(AssignmentRecord).where(AssignmentRecord.incident_id == row.id).order_by(AssignmentRecord.id)
        ).all()
        decisions = session.scalars(
            sa.select(HypothesisDecisionRecord)
            .where(HypothesisDecisionRecord.incident_id == row.id)
            .order_by(HypothesisDecisionRecord.id)
        ).all()
        return IncidentDetail(
            incident=incident_row(row, investigation_count=len(investigations)),
            investigations=tuple(investigation_row(i) for i in investigations),
            hypotheses=tuple(
                StoredHypothesis(
                    investigation_id=h.investigation_id,
                    rank=h.rank,
                    created_at=h.created_at,
                    hypothesis=hypothesis_from(h),
                )
                for h in hypotheses
            ),
            evidence=tuple(evidence_from(e) for e in evidence),
            status_events=tuple(status_event(e) for e in events),
            assignments=tuple(assignment(a) for a in assignments),
            decisions=tuple(decision(d) for d in decisions),
        )


def get_brief(db: Database, *, investigation_id: int) -> Any:
    """The report an investigation stored, as parsed JSON."""
    with db.session(readonly=True) as session:
        found = session.execute(
            sa.select(InvestigationRecord.id, InvestigationRecord.brief).where(
                InvestigationRecord.id == investigation_id
            )
        ).first()
    if found is None:
        raise NotFoundError(f"no investigation {investigation_id} in {db.url}")
    return found.brief


def _open_incident_by_fingerprint(session: Session, fingerprint: str) -> IncidentRecord | None:
    """The open incident with this fingerprint, read under the fingerprint's lock so that two writers (two
    server replicas) finding none cannot both create one: the second waits, then sees the first's incident."""
    if not fingerprint:
        return None
    lock_fingerprint(session, fingerprint)
    return session.scalars(
        sa.select(IncidentRecord)
        .where(
            IncidentRecord.alert_fingerprint == fingerprint,
            IncidentRecord.status.not_in(sorted(CLOSED_STATUSES)),
        )
        .order_by(IncidentRecord.created_at.desc())
        .limit(1)
    ).first()


_LOCKED_FINGERPRINTS = "incidentlens_locked_fingerprints"


def lock_fingerprint(session: Session, fingerprint: str) -> None:
    """Serialise writers on one alert fingerprint until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock on the fingerprint's 64-bit hash (READ COMMITTED then shows
    the winner's committed incident to the next statement). SQLite writers already hold the database lock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    held: set[str] = session.info.setdefault(_LOCKED_FINGERPRINTS, set())
    if fingerprint in held:  # already ours in this transaction: spare the round trip
        return
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(fingerprint, 0))))
    held.add(fingerprint)


def lock_fingerprints(session: Session, fingerprints: Collection[str]) -> None:
    """`lock_fingerprint` for many at once, in sorted order (two writers locking overlapping sets cannot
    deadlock), in one statement."""
    if session.get_bind().dialect.name != "postgresql":
        return
    held: set[str] = session.info.setdefault(_LOCKED_FINGERPRINTS, set())
    wanted = sorted(set(fingerprints) - held)
    if wanted:
        session.execute(
            sa.text(
                "SELECT count(pg_advisory_xact_lock(hashtextextended(fp, 0)))"
                " FROM (SELECT unnest(CAST(:fps AS text[])) AS fp ORDER BY 1) AS ordered"
            ),
            {"fps": wanted},
        )
        held.update(wanted)


def create_incident(session: Session, draft: IncidentDraft, *, now: datetime) -> IncidentRecord:
    row = IncidentRecord(
        id=_next_incident_id(session),
        title=draft.title,
        status=draft.status,
        severity=draft.severity,
        service=draft.service,
        detected_at=draft.detected_at,
        opened_at=draft.opened_at,
        alert_fingerprint=draft.alert_fingerprint,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()  # the incident row must exist before rows that reference it (foreign keys are on)
    session.add_all(_event_record(row.id, event) for event in draft.events)
    return row


def _next_incident_id(session: Session) -> str:
    # UPDATE first: it takes the row (PostgreSQL) or database (SQLite) write lock before we read.
    session.execute(
        sa.update(IdSequenceRow)
        .where(IdSequenceRow.name == INCIDENT_SEQUENCE)
        .values(value=IdSequenceRow.value + 1)
        .execution_options(synchronize_session=False)
    )
    value = session.scalar(sa.select(IdSequenceRow.value).where(IdSequenceRow.name == INCIDENT_SEQUENCE))
    if value is None:
        raise StoreError(f"id sequence {INCIDENT_SEQUENCE!r} is missing: the database was not created by IncidentLens")
    return f"INC-{value:04d}"


def _event_record(incident_id: str, event: StatusEvent) -> StatusEventRecord:
    return StatusEventRecord(
        incident_id=incident_id, status=event.status, at=event.at, actor=event.actor, note=event.note
    )


def _incident(session: Session, incident_id: str, db: Database) -> IncidentRecord:
    row = session.get(IncidentRecord, incident_id)
    if row is None:
        raise NotFoundError(f"no incident {incident_id!r} in {db.url}")
    return row


def _investigation_count(session: Session, incident_id: str) -> int:
    query = sa.select(sa.func.count()).where(InvestigationRecord.incident_id == incident_id)
    return int(session.scalar(query) or 0)
