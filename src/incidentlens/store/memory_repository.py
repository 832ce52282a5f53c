"""Data functions for the incident memory: read an incident's ledger, write its fingerprint, list the index.

Building a fingerprint is pure code in `memory/`; these functions read what it needs and write what it
returns in the same transaction, so an entry never describes a ledger that changed under it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidentlens.errors import InputError
from incidentlens.model.enums import FaultKind, HypothesisStatus
from incidentlens.model.records import Evidence, Hypothesis
from incidentlens.store.convert import evidence_from, hypothesis_from, incident_row
from incidentlens.store.database import Database
from incidentlens.store.errors import NotFoundError
from incidentlens.store.rows import CLOSED_STATUSES, IncidentRow, StoredHypothesis
from incidentlens.store.tables import (
    EvidenceRecord,
    HypothesisDecisionRecord,
    HypothesisRecord,
    IncidentRecord,
    InvestigationRecord,
    StatusEventRecord,
)
from incidentlens.store.tables_memory import MemoryEntryRecord


@dataclass(frozen=True, slots=True)
class MemorySource:
    """What indexing reads from the ledger of one resolved incident."""

    incident: IncidentRow
    investigation_id: int | None  # the latest investigation
    brief: Any  # its stored brief (parsed JSON), None without investigations
    hypotheses: tuple[StoredHypothesis, ...]  # every investigation's, latest investigation first
    evidence: tuple[Evidence, ...]
    resolution_note: str  # the note of the last resolved/closed status event


@dataclass(frozen=True, slots=True)
class MemoryEntryDraft:
    """A fingerprint to store, with its root cause repeated in columns for recurrence statistics."""

    service: str | None
    fault: FaultKind | None
    confirmed: bool
    fingerprint: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MemoryEntryRow:
    incident_id: str
    opened_at: datetime
    service: str | None
    fault: FaultKind | None
    confirmed: bool
    fingerprint: dict[str, Any]


Builder = Callable[[MemorySource], MemoryEntryDraft]


def index_incident_entry(db: Database, *, incident_id: str, build: Builder, now: datetime) -> MemoryEntryDraft:
    """Build and store (or replace) the entry of one resolved or closed incident, in one transaction."""
    with db.session() as session:
        row = session.get(IncidentRecord, incident_id)
        if row is None:
            raise NotFoundError(f"no incident {incident_id!r} in {db.url}")
        if row.status not in CLOSED_STATUSES:
            raise InputError(
                f"incident {incident_id} is {row.status.value}: only resolved or closed incidents are indexed"
            )
        entry = build(_source(session, row))
        session.merge(_record(incident_id, entry, _latest_investigation(session, incident_id), now))
        return entry


def reindex_entries(db: Database, *, build: Builder, now: datetime) -> list[str]:
    """Rebuild the whole memory from the ledger in one transaction; returns the incident ids indexed."""
    with db.session() as session:
        session.execute(sa.delete(MemoryEntryRecord))
        rows = session.scalars(
            sa.select(IncidentRecord)
            .where(IncidentRecord.status.in_(sorted(CLOSED_STATUSES)))
            .order_by(IncidentRecord.created_at, IncidentRecord.id)
        ).all()
        for row in rows:
            entry = build(_source(session, row))
            session.add(_record(row.id, entry, _latest_investigation(session, row.id), now))
        return [row.id for row in rows]


def memory_entries(db: Database) -> list[MemoryEntryRow]:
    """Every indexed incident, oldest opened first."""
    query = (
        sa.select(MemoryEntryRecord, IncidentRecord.opened_at)
        .join(IncidentRecord, IncidentRecord.id == MemoryEntryRecord.incident_id)
        .order_by(IncidentRecord.opened_at, IncidentRecord.id)
    )
    with db.session(readonly=True) as session:
        return [
            MemoryEntryRow(e.incident_id, opened_at, e.service, e.fault, e.confirmed, dict(e.fingerprint))
            for e, opened_at in session.execute(query)
        ]


def first_briefs(db: Database, *, incident_ids: Sequence[str]) -> dict[str, Any]:
    """The brief of each incident's first investigation: what the on-call engineer saw first."""
    if not incident_ids:
        return {}
    first = (
        sa.select(sa.func.min(InvestigationRecord.id))
        .where(InvestigationRecord.incident_id.in_(list(incident_ids)))
        .group_by(InvestigationRecord.incident_id)
    )
    with db.session(readonly=True) as session:
        rows = session.execute(
            sa.select(InvestigationRecord.incident_id, InvestigationRecord.brief).where(
                InvestigationRecord.id.in_(first)
            )
        ).all()
    return {incident_id: brief for incident_id, brief in rows}


def _latest_investigation(session: Session, incident_id: str) -> int | None:
    return session.scalar(
        sa.select(sa.func.max(InvestigationRecord.id)).where(InvestigationRecord.incident_id == incident_id)
    )


def _source(session: Session, row: IncidentRecord) -> MemorySource:
    latest = _latest_investigation(session, row.id)
    brief = (
        session.scalar(sa.select(InvestigationRecord.brief).where(InvestigationRecord.id == latest))
        if latest is not None
        else None
    )
    hypotheses = session.scalars(
        sa.select(HypothesisRecord)
        .where(HypothesisRecord.incident_id == row.id)
        .order_by(HypothesisRecord.investigation_id.desc(), HypothesisRecord.rank)
    ).all()
    evidence = session.scalars(
        sa.select(EvidenceRecord).where(EvidenceRecord.incident_id == row.id).order_by(EvidenceRecord.id)
    ).all()
    note = session.scalar(
        sa.select(StatusEventRecord.note)
        .where(StatusEventRecord.incident_id == row.id, StatusEventRecord.status.in_(sorted(CLOSED_STATUSES)))
        .order_by(StatusEventRecord.at.desc(), StatusEventRecord.id.desc())
        .limit(1)
    )
    count = session.scalar(sa.select(sa.func.count()).where(InvestigationRecord.incident_id == row.id)) or 0
    # A person's latest confirm/refute is in force over the status the investigation stored.
    decided: dict[str, HypothesisStatus] = {}
    for decision in session.scalars(
        sa.select(HypothesisDecisionRecord)
        .where(HypothesisDecisionRecord.incident_id == row.id)
        .order_by(HypothesisDecisionRecord.at, HypothesisDecisionRecord.id)
    ):
        decided[decision.hypothesis_id] = decision.decision
    return MemorySource(
        incident=incident_row(row, investigation_count=int(count)),
        investigation_id=latest,
        brief=brief,
        hypotheses=tuple(
            StoredHypothesis(h.investigation_id, h.rank, h.created_at, _in_force(hypothesis_from(h), decided))
            for h in hypotheses
        ),
        evidence=tuple(evidence_from(e) for e in evidence),
        resolution_note=note or "",
    )


def _in_force(hypothesis: Hypothesis, decided: dict[str, HypothesisStatus]) -> Hypothesis:
    status = decided.get(hypothesis.id)
    return hypothesis if status is None else dataclasses.replace(hypothesis, status=status)


def _record(
    incident_id: str, entry: MemoryEntryDraft, investigation_id: int | None, now: datetime
) -> MemoryEntryRecord:
    return MemoryEntryRecord(
        incident_id=incident_id,
        investigation_id=investigation_id,
        service=entry.service,
        fault=entry.fault,
        confirmed=entry.confirmed,
        fingerprint=entry.fingerprint,
        indexed_at=now,
    )
