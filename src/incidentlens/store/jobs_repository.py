"""SQL for background jobs and for incidents opened by alerts, run in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidentlens.store.errors import NotFoundError
from incidentlens.store.fixes_repository import app_secret
from incidentlens.store.tables_jobs import JobRecord, JobStatus

__all__ = [
    "JobRow",
    "JobStatus",
    "claim_next",
    "finish_job",
    "get_job",
    "heartbeat",
    "job_counts",
    "list_jobs",
    "requeue_running",
    "session_key",
    "set_step",
]

SESSION_KEY = "web_session_key"


@dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    incident_id: str
    kind: str
    status: JobStatus
    step: str
    payload: dict[str, Any]
    alerts: int
    attempts: int
    error: str
    investigation_id: int | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _row(r: JobRecord) -> JobRow:
    return JobRow(
        id=r.id,
        incident_id=r.incident_id,
        kind=r.kind,
        status=r.status,
        step=r.step,
        payload=dict(r.payload),
        alerts=r.alerts,
        attempts=r.attempts,
        error=r.error,
        investigation_id=r.investigation_id,
        created_at=r.created_at,
        updated_at=r.updated_at,
        started_at=r.started_at,
        finished_at=r.finished_at,
    )


def claim_next(session: Session, *, now: datetime) -> JobRow | None:
    """Mark the oldest queued job running and return it (None when the queue is empty).

    On PostgreSQL the row is taken with FOR UPDATE SKIP LOCKED: server replicas claiming at once each get a
    different job (or none), never the same one. SQLite writers hold the database lock, which does the same.
    """
    job = session.scalars(
        sa.select(JobRecord)
        .where(JobRecord.status == JobStatus.QUEUED)
        .order_by(JobRecord.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if job is None:
        return None
    job.status = JobStatus.RUNNING
    job.step = "starting"
    job.attempts += 1
    job.started_at = now
    job.updated_at = now
    session.flush()
    return _row(job)


def set_step(session: Session, *, job_id: int, step: str, now: datetime) -> None:
    job = _job(session, job_id)
    job.step = step
    job.updated_at = now


def finish_job(
    session: Session,
    *,
    job_id: int,
    status: JobStatus,
    step: str,
    now: datetime,
    error: str = "",
    investigation_id: int | None = None,
) -> JobRow:
    """Record the outcome: done (with the investigation it recorded, if any) or failed with the error."""
    if status not in (JobStatus.DONE, JobStatus.FAILED):
        raise ValueError(f"a job finishes done or failed, not {status}")
    job = _job(session, job_id)
    job.status = status
    job.step = step
    job.error = error
    job.investigation_id = investigation_id
    job.finished_at = now
    job.updated_at = now
    session.flush()
    return _row(job)


def requeue_running(
    session: Session,
    *,
    now: datetime,
    idle_since: datetime | None = None,
    job_id: int | None = None,
    step: str = "queued again after a restart",
) -> int:
    """Put running jobs back in the queue; returns how many.

    All of them (a single server starting again), only those whose heartbeat (`updated_at`) is older than
    `idle_since` (a replica that died while others run theirs), or only `job_id` (this server stopping).
    """
    query = sa.update(JobRecord).where(JobRecord.status == JobStatus.RUNNING)
    if idle_since is not None:
        query = query.where(JobRecord.updated_at < idle_since)
    if job_id is not None:
        query = query.where(JobRecord.id == job_id)
    result = session.execute(
        query.values(status=JobStatus.QUEUED, step=step, updated_at=now).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def heartbeat(session: Session, *, job_id: int, now: datetime) -> None:
    """Show that the server running this job is alive (others requeue jobs whose heartbeat stopped)."""
    session.execute(
        sa.update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.status == JobStatus.RUNNING)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )


def get_job(session: Session, *, job_id: int) -> JobRow:
    return _row(_job(session, job_id))


def list_jobs(
    session: Session, *, incident_id: str | None = None, status: JobStatus | None = None, limit: int = 100
) -> list[JobRow]:
    """Jobs newest first, optionally of one incident or status."""
    query = sa.select(JobRecord).order_by(JobRecord.id.desc()).limit(limit)
    if incident_id is not None:
        query = query.where(JobRecord.incident_id == incident_id)
    if status is not None:
        query = query.where(JobRecord.status == status)
    return [_row(r) for r in session.scalars(query)]


def job_counts(session: Session) -> dict[str, int]:
    """How many jobs are in each status (every status present, zero when none)."""
    counts = {status.value: 0 for status in JobStatus}
    for status, n in session.execute(sa.select(JobRecord.status, sa.func.count()).group_by(JobRecord.status)):
        counts[JobStatus(status).value] = int(n)
    return counts


def session_key(session: Session) -> bytes:
    """The server's session-signing key: created on first use and kept in the database (shared by replicas)."""
    return bytes.fromhex(app_secret(session, SESSION_KEY))


def _job(session: Session, job_id: int) -> JobRecord:
    job = session.get(JobRecord, job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    return job
