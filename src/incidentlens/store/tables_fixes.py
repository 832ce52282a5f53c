"""Tables of fix proposals, approval decisions, issued approvals, executions and the approval key.

Rows are history: a decision or execution is never edited; an approval row only gains `used_at` once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidentlens.model.approval import DecisionKind, FixStatus
from incidentlens.model.enums import FixKind, RiskLevel
from incidentlens.store.tables import Base
from incidentlens.store.types import EnumText, UtcDateTime


class FixProposalRecord(Base):
    """A stored proposal; its id is `<incident>-F<n>` (n counts the incident's proposals)."""

    __tablename__ = "fix_proposals"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), nullable=False, index=True)
    investigation_id: Mapped[int] = mapped_column(sa.ForeignKey("investigations.id"), nullable=False)
    hypothesis_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    kind: Mapped[FixKind] = mapped_column(EnumText(FixKind), nullable=False)
    title: Mapped[str] = mapped_column(sa.Text, nullable=False)
    rationale: Mapped[str] = mapped_column(sa.Text, nullable=False)
    risk: Mapped[RiskLevel] = mapped_column(EnumText(RiskLevel), nullable=False)
    evidence_ids: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    diff: Mapped[str] = mapped_column(sa.Text, nullable=False)
    action: Mapped[dict[str, str]] = mapped_column(sa.JSON, nullable=False)
    prediction: Mapped[dict[str, str] | None] = mapped_column(sa.JSON, nullable=True)
    expectation: Mapped[dict[str, str]] = mapped_column(sa.JSON, nullable=False)
    service: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    author: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    base_commit: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # The digest of the content at creation: a row edited behind the tool's back no longer matches it.
    content_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    status: Mapped[FixStatus] = mapped_column(EnumText(FixStatus), nullable=False)
    validation: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    verification: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class FixDecisionRecord(Base):
    """One user's approve or reject of one version of a proposal; the latest per user is in force."""

    __tablename__ = "fix_decisions"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[str] = mapped_column(sa.ForeignKey("fix_proposals.id"), nullable=False, index=True)
    actor: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    roles: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    decision: Mapped[DecisionKind] = mapped_column(EnumText(DecisionKind), nullable=False)
    comment: Mapped[str] = mapped_column(sa.Text, nullable=False)
    proposal_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class ApprovalRecord(Base):
    """An approval the gate issued; `used_at` set once, when an executor redeems it."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    proposal_id: Mapped[str] = mapped_column(sa.ForeignKey("fix_proposals.id"), nullable=False, index=True)
    proposal_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    approvers: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    signature: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    used_by: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)


class FixExecutionRecord(Base):
    """One executor run; an approval appears here at most once (the unique key refuses a replay too)."""

    __tablename__ = "fix_executions"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[str] = mapped_column(sa.ForeignKey("fix_proposals.id"), nullable=False, index=True)
    approval_id: Mapped[str] = mapped_column(sa.ForeignKey("approvals.id"), nullable=False, unique=True)
    executor: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    actor: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    ok: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)


class AppSecretRecord(Base):
    """Secrets the application generates for itself (the approval signing key)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(128), nullable=False)
