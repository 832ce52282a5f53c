"""The tamper-evident audit chain: append an entry in the caller's transaction, verify the whole chain.

Each entry's hash is sha256 over a canonical JSON of every field including the previous entry's hash,
and a one-row head keeps the last seq and hash. Verification therefore catches an edited, deleted,
inserted or reordered entry and a deleted tail. It cannot catch someone with write access who rewrites
the chain *and* the head consistently: pin `AuditVerification.head_hash` somewhere else for that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from incidentlens.errors import AuditIntegrityError, StoreError
from incidentlens.store import audit_store
from incidentlens.store.database import Database
from incidentlens.store.rows import AuditEntry, AuditHead

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditVerification",
    "append_audit",
    "audit_trail",
    "canonical_json",
    "check_audit",
    "entry_hash",
    "verify_audit",
    "verify_chain",
]

GENESIS_HASH = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN: the same value always gives the same text."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
        )
    except (TypeError, ValueError) as exc:
        raise StoreError(f"audit data cannot be recorded: {exc}") from exc


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise StoreError(f"naive datetime {at.isoformat()} given where a UTC time is required")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    incident_id: str | None,
    entity: str,
    entity_id: str,
    action: str,
    data: str,
    prev_hash: str,
) -> str:
    """sha256 (hex) over the canonical JSON of every field of an entry, `data` as its stored text."""
    fields = {
        "seq": seq,
        "at": _iso(at),
        "actor": actor,
        "incident_id": incident_id,
        "entity": entity,
        "entity_id": entity_id,
        "action": action,
        "data": data,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def _recomputed(entry: AuditEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        incident_id=entry.incident_id,
        entity=entry.entity,
        entity_id=entry.entity_id,
        action=entry.action,
        data=entry.data,
        prev_hash=entry.prev_hash,
    )


def append_audit(
    session: Session,
    *,
    actor: str,
    entity: str,
    entity_id: str,
    action: str,
    at: datetime,
    incident_id: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction, so the change and its record commit or fail together."""
    for name, value in (("actor", actor), ("entity", entity), ("entity_id", entity_id), ("action", action)):
        if not value:
            raise StoreError(f"audit entry needs a non-empty {name}")
    # Datetimes carry microseconds, as both databases do: the hash computed now is the one recomputed later.
    _iso(at)
    at = at.astimezone(UTC)
    head = audit_store.lock_head(session)
    text = canonical_json(dict(data) if data is not None else {})
    seq = head.seq + 1
    digest = entry_hash(
        seq=seq,
        at=at,
        actor=actor,
        incident_id=incident_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        data=text,
        prev_hash=head.hash,
    )
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        incident_id=incident_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        data=text,
        prev_hash=head.hash,
        hash=digest,
    )
    audit_store.insert_entry(session, entry)
    return entry


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The outcome of checking the chain; `first_bad_seq` and `reason` are set when it does not verify."""

    entries: int
    head_seq: int | None
    head_hash: str | None
    first_bad_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def verify_chain(entries: Iterable[AuditEntry], *, head: AuditHead | None) -> AuditVerification:
    """Walk the entries in seq order and report the first one that breaks the chain, or the head."""
    expected, prev = 1, GENESIS_HASH
    count = 0

    def bad(seq: int, reason: str) -> AuditVerification:
        return AuditVerification(
            entries=count,
            head_seq=head.seq if head else None,
            head_hash=head.hash if head else None,
            first_bad_seq=seq,
            reason=reason,
        )

    for entry in entries:
        if entry.seq != expected:
            if entry.seq > expected:
                return bad(expected, f"entry is missing (the next stored entry is seq {entry.seq})")
            return bad(entry.seq, f"unexpected seq {entry.seq} where seq {expected} was due")
        if _recomputed(entry) != entry.hash:
            return bad(entry.seq, "hash does not match the entry's content (the entry was modified)")
        if entry.prev_hash != prev:
            before = f"entry {entry.seq - 1}" if entry.seq > 1 else "the chain's start"
            return bad(entry.seq, f"prev_hash does not match the hash of {before} (inserted, removed or reordered)")
        prev = entry.hash
        expected += 1
        count += 1
    if head is None:
        return bad(count + 1, "the audit head row is missing")
    if head.seq > count:
        return bad(count + 1, f"entry is missing: the head records {head.seq} entries, the log ends at {count}")
    if head.seq < count:
        return bad(head.seq + 1, f"entry is beyond the recorded head (the head records {head.seq} entries)")
    if head.hash != prev:
        return bad(head.seq, "the last entry's hash differs from the one the head recorded")
    return AuditVerification(entries=count, head_seq=head.seq, head_hash=head.hash)


def verify_audit(db: Database) -> AuditVerification:
    """Verify the whole chain in one read transaction."""
    with db.session(readonly=True) as session:
        head = audit_store.read_head(session)
        return verify_chain(audit_store.iter_entries(session), head=head)


def check_audit(db: Database) -> AuditVerification:
    """Like `verify_audit`, but a chain that does not verify raises AuditIntegrityError naming the seq."""
    result = verify_audit(db)
    if not result.ok:
        raise AuditIntegrityError(f"audit chain broken at seq {result.first_bad_seq}: {result.reason}")
    return result


def audit_trail(db: Database, *, incident_id: str | None = None) -> list[AuditEntry]:
    """Entries in seq order: all of them, or one incident's."""
    with db.session(readonly=True) as session:
        return list(audit_store.iter_entries(session, incident_id=incident_id))
