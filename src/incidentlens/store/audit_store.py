"""SQL for the audit log and its one-row head; hashing and verification live in `workflow/audit.py`."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidentlens.errors import AuditIntegrityError
from incidentlens.store.rows import AuditEntry, AuditHead
from incidentlens.store.tables import AuditHeadRecord, AuditLogRecord

HEAD_ID = 1
_BATCH = 500


def lock_head(session: Session) -> AuditHead:
    """Read the chain head, locking its row (PostgreSQL FOR UPDATE; SQLite writers already hold the lock)."""
    found = session.execute(
        sa.select(AuditHeadRecord.seq, AuditHeadRecord.hash).where(AuditHeadRecord.id == HEAD_ID).with_for_update()
    ).first()
    if found is None:
        raise AuditIntegrityError("the audit head row is missing: the chain cannot be extended or verified")
    return AuditHead(seq=int(found.seq), hash=found.hash)


def read_head(session: Session) -> AuditHead | None:
    found = session.execute(
        sa.select(AuditHeadRecord.seq, AuditHeadRecord.hash).where(AuditHeadRecord.id == HEAD_ID)
    ).first()
    return None if found is None else AuditHead(seq=int(found.seq), hash=found.hash)


def insert_entry(session: Session, entry: AuditEntry) -> None:
    """Append the entry and move the head to it, in the caller's transaction."""
    session.add(
        AuditLogRecord(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            incident_id=entry.incident_id,
            entity=entry.entity,
            entity_id=entry.entity_id,
            action=entry.action,
            data=entry.data,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    session.flush()
    session.execute(
        sa.update(AuditHeadRecord)
        .where(AuditHeadRecord.id == HEAD_ID)
        .values(seq=entry.seq, hash=entry.hash)
        .execution_options(synchronize_session=False)
    )


def iter_entries(session: Session, *, incident_id: str | None = None) -> Iterator[AuditEntry]:
    """Entries in seq order (all of them, or one incident's), streamed in batches."""
    query = sa.select(AuditLogRecord).order_by(AuditLogRecord.seq)
    if incident_id is not None:
        query = query.where(AuditLogRecord.incident_id == incident_id)
    for row in session.scalars(query.execution_options(yield_per=_BATCH)):
        yield AuditEntry(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            incident_id=row.incident_id,
            entity=row.entity,
            entity_id=row.entity_id,
            action=row.action,
            data=row.data,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
