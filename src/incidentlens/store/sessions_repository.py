"""Server-side console sessions: a row per live session id, so logout and token changes can end one.

Kept in `app_secrets` (name `session:<id>`, value the expiry as Unix seconds): no schema change, and every
server process sharing the database sees a logout at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidentlens.store.tables_fixes import AppSecretRecord

__all__ = ["close_session", "open_session", "session_active"]

_PREFIX = "session:"


def open_session(session: Session, *, session_id: str, expires: int, now: int) -> None:
    """Record a new live session; expired ones are pruned on the way."""
    rows = session.execute(
        sa.select(AppSecretRecord.name, AppSecretRecord.value).where(AppSecretRecord.name.like(f"{_PREFIX}%"))
    ).all()
    stale = [name for name, value in rows if not value.isdigit() or int(value) < now]
    if stale:
        session.execute(
            sa.delete(AppSecretRecord)
            .where(AppSecretRecord.name.in_(stale))
            .execution_options(synchronize_session=False)
        )
    session.add(AppSecretRecord(name=_PREFIX + session_id, value=str(expires)))
    session.flush()


def session_active(session: Session, *, session_id: str, now: int) -> bool:
    """True while the session was opened here, not closed and not expired."""
    row = session.get(AppSecretRecord, _PREFIX + session_id)
    return row is not None and row.value.isdigit() and int(row.value) >= now


def close_session(session: Session, *, session_id: str) -> None:
    """End a session (logout): its cookie stops working everywhere at once."""
    session.execute(
        sa.delete(AppSecretRecord)
        .where(AppSecretRecord.name == _PREFIX + session_id)
        .execution_options(synchronize_session=False)
    )
