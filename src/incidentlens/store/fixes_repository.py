"""Data functions over the fix tables. They take the caller's session, so a state change and its audit
entry commit in one transaction (`workflow/` opens it); keyword-only arguments throughout."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidentlens.errors import StoreError
from incidentlens.model.approval import Decision, DecisionKind, FixStatus, proposal_digest
from incidentlens.model.enums import Role
from incidentlens.model.records import FixProposal, Prediction
from incidentlens.store.errors import NotFoundError
from incidentlens.store.tables_fixes import (
    ApprovalRecord,
    AppSecretRecord,
    FixDecisionRecord,
    FixExecutionRecord,
    FixProposalRecord,
)

SIGNING_KEY = "approval_signing_key"


@dataclass(frozen=True, slots=True)
class StoredProposal:
    """A proposal as stored, with where it is in its life and what validation and verification found."""

    proposal: FixProposal
    incident_id: str
    investigation_id: int
    status: FixStatus
    content_hash: str
    validation: dict[str, Any] | None
    verification: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    @property
    def intact(self) -> bool:
        """Whether the stored content still hashes to what was recorded when it was created."""
        return proposal_digest(self.proposal) == self.content_hash


@dataclass(frozen=True, slots=True)
class ApprovalRow:
    id: str
    proposal_id: str
    proposal_hash: str
    approvers: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    signature: str
    used_at: datetime | None
    used_by: str | None


@dataclass(frozen=True, slots=True)
class ExecutionRow:
    id: int
    proposal_id: str
    approval_id: str
    executor: str
    actor: str
    started_at: datetime
    finished_at: datetime
    ok: bool
    result: dict[str, Any]


def _proposal(row: FixProposalRecord) -> StoredProposal:
    prediction = Prediction(**row.prediction) if row.prediction else None
    proposal = FixProposal(
        id=row.id,
        hypothesis_id=row.hypothesis_id,
        kind=row.kind,
        title=row.title,
        rationale=row.rationale,
        risk=row.risk,
        evidence_ids=tuple(row.evidence_ids),
        diff=row.diff,
        action=dict(row.action),
        prediction=prediction,
        service=row.service,
        author=row.author,
        base_commit=row.base_commit,
        expectation=dict(row.expectation),
    )
    return StoredProposal(
        proposal=proposal,
        incident_id=row.incident_id,
        investigation_id=row.investigation_id,
        status=row.status,
        content_hash=row.content_hash,
        validation=dict(row.validation) if row.validation is not None else None,
        verification=dict(row.verification) if row.verification is not None else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def insert_proposals(
    session: Session,
    *,
    incident_id: str,
    investigation_id: int,
    proposals: Sequence[FixProposal],
    now: datetime,
) -> list[StoredProposal]:
    """Store proposals not already stored for the incident (same content); ids are `<incident>-F<n>`."""
    existing = session.scalars(sa.select(FixProposalRecord).where(FixProposalRecord.incident_id == incident_id)).all()
    known = {row.content_hash for row in existing}
    count = len(existing)
    added: list[StoredProposal] = []
    for item in proposals:
        count += 1
        stored = FixProposal(**{**_fields(item), "id": f"{incident_id}-F{count}"})
        digest = proposal_digest(stored)
        if digest in known:
            count -= 1
            continue
        known.add(digest)
        row = FixProposalRecord(
            id=stored.id,
            incident_id=incident_id,
            investigation_id=investigation_id,
            hypothesis_id=stored.hypothesis_id,
            kind=stored.kind,
            title=stored.title,
            rationale=stored.rationale,
            risk=stored.risk,
            evidence_ids=list(stored.evidence_ids),
            diff=stored.diff,
            action=dict(stored.action),
            prediction=asdict(stored.prediction) if stored.prediction else None,
            expectation=dict(stored.expectation),
            service=stored.service,
            author=stored.author,
            base_commit=stored.base_commit,
            content_hash=digest,
            status=FixStatus.PROPOSED,
            validation=None,
            verification=None,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        added.append(_proposal(row))
    return added


def _fields(item: FixProposal) -> dict[str, Any]:
    return {name: getattr(item, name) for name in FixProposal.__dataclass_fields__}


def list_proposals(session: Session, *, incident_id: str) -> list[StoredProposal]:
    rows = session.scalars(
        sa.select(FixProposalRecord)
        .where(FixProposalRecord.incident_id == incident_id)
        .order_by(FixProposalRecord.created_at, FixProposalRecord.id)
    ).all()
    return sorted((_proposal(r) for r in rows), key=lambda p: int(p.proposal.id.rsplit("-F", 1)[-1]))


def get_proposal(session: Session, *, proposal_id: str, lock: bool = False) -> StoredProposal:
    """The proposal; `lock` takes its row until the transaction ends (PostgreSQL FOR UPDATE), so decisions,
    approvals and redemptions of one proposal on different server replicas happen one after another."""
    row = session.get(FixProposalRecord, proposal_id, with_for_update=lock or None)
    if row is None:
        raise NotFoundError(f"no fix proposal {proposal_id!r}: `incidentlens fix list INCIDENT` shows the ids")
    return _proposal(row)


def update_proposal(
    session: Session,
    *,
    proposal_id: str,
    now: datetime,
    status: FixStatus | None = None,
    validation: dict[str, Any] | None = None,
    verification: dict[str, Any] | None = None,
) -> StoredProposal:
    row = session.get(FixProposalRecord, proposal_id)
    if row is None:
        raise NotFoundError(f"no fix proposal {proposal_id!r}")
    if status is not None:
        row.status = status
    if validation is not None:
        row.validation = validation
    if verification is not None:
        row.verification = verification
    row.updated_at = now
    session.flush()
    return _proposal(row)


def add_decision(session: Session, *, decision: Decision) -> None:
    session.add(
        FixDecisionRecord(
            proposal_id=decision.proposal_id,
            actor=decision.actor,
            roles=sorted(r.value for r in decision.roles),
            decision=decision.kind,
            comment=decision.comment,
            proposal_hash=decision.proposal_hash,
            at=decision.at,
        )
    )
    session.flush()


def list_decisions(session: Session, *, proposal_id: str) -> list[Decision]:
    rows = session.scalars(
        sa.select(FixDecisionRecord)
        .where(FixDecisionRecord.proposal_id == proposal_id)
        .order_by(FixDecisionRecord.at, FixDecisionRecord.id)
    ).all()
    return [
        Decision(
            proposal_id=r.proposal_id,
            actor=r.actor,
            roles=frozenset(Role(x) for x in r.roles),
            kind=DecisionKind(r.decision),
            at=r.at,
            proposal_hash=r.proposal_hash,
            comment=r.comment,
        )
        for r in rows
    ]


def insert_approval(session: Session, *, row: ApprovalRow) -> None:
    session.add(
        ApprovalRecord(
            id=row.id,
            proposal_id=row.proposal_id,
            proposal_hash=row.proposal_hash,
            approvers=list(row.approvers),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            signature=row.signature,
            used_at=None,
            used_by=None,
        )
    )
    session.flush()


def get_approval(session: Session, *, approval_id: str) -> ApprovalRow | None:
    r = session.get(ApprovalRecord, approval_id)
    if r is None:
        return None
    return ApprovalRow(
        r.id,
        r.proposal_id,
        r.proposal_hash,
        tuple(r.approvers),
        r.issued_at,
        r.expires_at,
        r.signature,
        r.used_at,
        r.used_by,
    )


def mark_approval_used(session: Session, *, approval_id: str, executor: str, now: datetime) -> bool:
    """Set `used_at` only if it is unset; False when another redemption got there first."""
    result = session.execute(
        sa.update(ApprovalRecord)
        .where(ApprovalRecord.id == approval_id, ApprovalRecord.used_at.is_(None))
        .values(used_at=now, used_by=executor)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def last_redemption(session: Session, *, proposal_id: str, executor: str) -> datetime | None:
    """When an approval for `proposal_id` was last redeemed by `executor` (None if never)."""
    return session.scalar(
        sa.select(ApprovalRecord.used_at)
        .where(
            ApprovalRecord.proposal_id == proposal_id,
            ApprovalRecord.used_by == executor,
            ApprovalRecord.used_at.is_not(None),
        )
        .order_by(ApprovalRecord.used_at.desc())
        .limit(1)
    )


def insert_execution(session: Session, *, row: ExecutionRow) -> None:
    session.add(
        FixExecutionRecord(
            proposal_id=row.proposal_id,
            approval_id=row.approval_id,
            executor=row.executor,
            actor=row.actor,
            started_at=row.started_at,
            finished_at=row.finished_at,
            ok=row.ok,
            result=row.result,
        )
    )
    session.flush()


def list_executions(session: Session, *, proposal_id: str) -> list[ExecutionRow]:
    rows = session.scalars(
        sa.select(FixExecutionRecord)
        .where(FixExecutionRecord.proposal_id == proposal_id)
        .order_by(FixExecutionRecord.id)
    ).all()
    return [
        ExecutionRow(
            r.id, r.proposal_id, r.approval_id, r.executor, r.actor, r.started_at, r.finished_at, r.ok, dict(r.result)
        )
        for r in rows
    ]


def signing_key(session: Session) -> bytes:
    """The approval signing key, generated on first use and kept in the database."""
    return bytes.fromhex(app_secret(session, SIGNING_KEY))


def app_secret(session: Session, name: str) -> str:
    """A random hex secret kept in the database, created on first use.

    Server replicas starting together may both find none: on PostgreSQL the insert is ON CONFLICT DO NOTHING
    and everyone reads the row that won; SQLite writers are serialised by the database lock already.
    """
    row = session.get(AppSecretRecord, name)
    if row is not None:
        return row.value
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        session.execute(insert(AppSecretRecord).values(name=name, value=secrets.token_hex(32)).on_conflict_do_nothing())
        value = session.scalar(sa.select(AppSecretRecord.value).where(AppSecretRecord.name == name))
        if value is None:  # inserted now or by the replica that won: absent only if deleted meanwhile
            raise StoreError(f"the application secret {name!r} vanished while it was being created")
        return value
    row = AppSecretRecord(name=name, value=secrets.token_hex(32))
    session.add(row)
    session.flush()
    return row.value
