"""SQLAlchemy models of the workflow database: incidents and the ledger of what each investigation found.

Rows are never deleted: a later investigation adds to an incident, it does not replace the earlier ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from incidentlens.model.enums import (
    EvidenceKind,
    FaultKind,
    HypothesisStatus,
    IncidentStatus,
    Severity,
)
from incidentlens.store.rows import CLOSED_STATUSES
from incidentlens.store.types import EnumText, UtcDateTime

# Stable constraint names let later (batch) migrations on SQLite find and alter constraints.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

INCIDENT_SEQUENCE = "incident"

# An alert fingerprint maps to at most one open incident; resolved and closed ones keep theirs.
_CLOSED = ", ".join(f"'{status.value}'" for status in sorted(CLOSED_STATUSES))
OPEN_FINGERPRINT_WHERE = sa.text(f"alert_fingerprint != '' AND status NOT IN ({_CLOSED})")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class IdSequenceRow(Base):
    """Counters for human-readable ids (INC-0001); an UPDATE on the row serialises concurrent writers."""

    __tablename__ = "id_sequences"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)


class IncidentRecord(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        sa.Index(
            "uq_incidents_open_fingerprint",
            "alert_fingerprint",
            unique=True,
            sqlite_where=OPEN_FINGERPRINT_WHERE,
            postgresql_where=OPEN_FINGERPRINT_WHERE,
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    title: Mapped[str] = mapped_column(sa.Text, nullable=False)
    status: Mapped[IncidentStatus] = mapped_column(EnumText(IncidentStatus), nullable=False)
    severity: Mapped[Severity] = mapped_column(EnumText(Severity), nullable=False)
    service: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    alert_fingerprint: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class InvestigationRecord(Base):
    __tablename__ = "investigations"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), nullable=False, index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    workspace: Mapped[str] = mapped_column(sa.Text, nullable=False)
    input_summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    brief: Mapped[Any] = mapped_column(sa.JSON, nullable=False)
    tool_version: Mapped[str] = mapped_column(sa.String(64), nullable=False)


class EvidenceRecord(Base):
    """Evidence ids are stable, so the same id found again for an incident is the same evidence."""

    __tablename__ = "evidence"

    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), primary_key=True)
    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    investigation_id: Mapped[int] = mapped_column(sa.ForeignKey("investigations.id"), nullable=False, index=True)
    kind: Mapped[EvidenceKind] = mapped_column(EnumText(EvidenceKind), nullable=False)
    service: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    summary: Mapped[str] = mapped_column(sa.Text, nullable=False)
    excerpt: Mapped[str] = mapped_column(sa.Text, nullable=False)
    start_ns: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    end_ns: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    source_ref: Mapped[str] = mapped_column(sa.Text, nullable=False)
    score: Mapped[float] = mapped_column(sa.Float, nullable=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)


class HypothesisRecord(Base):
    """One row per hypothesis per investigation: the ledger of every claim ever ranked."""

    __tablename__ = "hypotheses"

    investigation_id: Mapped[int] = mapped_column(sa.ForeignKey("investigations.id"), primary_key=True)
    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), nullable=False, index=True)
    rank: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    claim: Mapped[str] = mapped_column(sa.Text, nullable=False)
    service: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    component: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    fault: Mapped[FaultKind] = mapped_column(EnumText(FaultKind), nullable=False)
    confidence: Mapped[float] = mapped_column(sa.Float, nullable=False)
    status: Mapped[HypothesisStatus] = mapped_column(EnumText(HypothesisStatus), nullable=False)
    supporting: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    contradicting: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    predictions: Mapped[list[dict[str, str]]] = mapped_column(sa.JSON, nullable=False)
    # Code locations, suspect commits and owners: kept so a stored hypothesis round-trips whole.
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class StatusEventRecord(Base):
    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), nullable=False, index=True)
    status: Mapped[IncidentStatus] = mapped_column(EnumText(IncidentStatus), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    note: Mapped[str] = mapped_column(sa.Text, nullable=False)


class AssignmentRecord(Base):
    """Who owns an incident: the latest row is the current owner; a change of owner is a reassignment."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), nullable=False, index=True)
    owner: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    note: Mapped[str] = mapped_column(sa.Text, nullable=False)


class HypothesisDecisionRecord(Base):
    """A human's confirm/refute of a hypothesis id, kept apart from the per-investigation rows.

    Keyed by incident and hypothesis id (not investigation), so a decision stays attached when a later
    investigation ranks the same hypothesis again. Rows are history: the latest one is in force.
    """

    __tablename__ = "hypothesis_decisions"
    __table_args__ = (sa.Index("ix_hypothesis_decisions_incident_hypothesis", "incident_id", "hypothesis_id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), nullable=False)
    hypothesis_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    decision: Mapped[HypothesisStatus] = mapped_column(EnumText(HypothesisStatus), nullable=False)
    comment: Mapped[str] = mapped_column(sa.Text, nullable=False)
    actor: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class AuditLogRecord(Base):
    """One hash-chained audit entry. `data` is stored as the exact canonical JSON text that was hashed."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    incident_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True, index=True)
    entity: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    entity_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    action: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    data: Mapped[str] = mapped_column(sa.Text, nullable=False)
    prev_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)


class AuditHeadRecord(Base):
    """The one-row head of the audit chain (last seq and hash): catches a deleted tail, serialises writers."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
