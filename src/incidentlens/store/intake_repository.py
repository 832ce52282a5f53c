"""Set-based SQL for alert intake: a whole batch of alerts costs a handful of statements, not a few per alert.

Everything runs in the caller's transaction, after `repository.lock_fingerprints` has serialised writers on the
batch's fingerprints (PostgreSQL: transaction-scoped advisory locks taken in sorted order, so two replicas taking
overlapping batches cannot deadlock; SQLite writers already hold the database lock).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidentlens.store.rows import CLOSED_STATUSES
from incidentlens.store.tables import IncidentRecord
from incidentlens.store.tables_jobs import JobRecord, JobStatus

__all__ = ["QueuedJob", "open_incidents", "queue_jobs", "touch_incidents"]

# Core statements on the table: a batch is written with executemany, without ORM objects per row.
_JOBS = cast(sa.Table, JobRecord.__table__)


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """The job an incident's alerts went to; `coalesced` when it was already waiting."""

    id: int
    coalesced: bool


def open_incidents(session: Session, fingerprints: Collection[str]) -> dict[str, str]:
    """The newest open incident per fingerprint: fingerprint -> incident id."""
    if not fingerprints:
        return {}
    rows = session.execute(
        sa.select(IncidentRecord.alert_fingerprint, IncidentRecord.id)
        .where(
            IncidentRecord.alert_fingerprint.in_(sorted(set(fingerprints))),
            IncidentRecord.status.not_in(sorted(CLOSED_STATUSES)),
        )
        .order_by(IncidentRecord.created_at)
    ).all()
    return {str(fp): str(incident_id) for fp, incident_id in rows}  # the newest wins


def touch_incidents(session: Session, incident_ids: Collection[str], *, now: datetime) -> None:
    """Bump `updated_at` of these incidents: an alert arrived for them."""
    if incident_ids:
        session.execute(
            sa.update(IncidentRecord)
            .where(IncidentRecord.id.in_(sorted(set(incident_ids))))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )


def queue_jobs(
    session: Session, wanted: Mapping[str, tuple[dict[str, Any], int]], *, kind: str, now: datetime, max_queued: int
) -> dict[str, QueuedJob] | None:
    """Per incident (id -> latest payload, alerts it stands for): fold into its waiting job, else queue one.

    Returns incident id -> job, or None when the queue cannot take the new jobs (more than `max_queued`
    waiting): the caller then writes nothing, so the sender retries.
    """
    if not wanted:
        return {}
    waiting: dict[str, int] = {}
    for incident_id, job_id in session.execute(
        sa.select(JobRecord.incident_id, sa.func.min(JobRecord.id))
        .where(JobRecord.incident_id.in_(sorted(wanted)), JobRecord.kind == kind, JobRecord.status == JobStatus.QUEUED)
        .group_by(JobRecord.incident_id)
    ):
        waiting[str(incident_id)] = int(job_id)
    if waiting:
        payload = sa.bindparam("new_payload", type_=_JOBS.c.payload.type)
        session.execute(
            sa.update(_JOBS)
            .where(_JOBS.c.id == sa.bindparam("job_id"))
            .values(
                alerts=_JOBS.c.alerts + sa.bindparam("more"),
                payload=payload,
                updated_at=now,
            ),
            [
                {"job_id": job_id, "more": wanted[incident_id][1], "new_payload": wanted[incident_id][0]}
                for incident_id, job_id in sorted(waiting.items())
            ],
        )
    jobs = {incident_id: QueuedJob(job_id, True) for incident_id, job_id in waiting.items()}
    new = sorted(set(wanted) - set(waiting))
    if not new:
        return jobs
    queued = session.scalar(sa.select(sa.func.count()).where(JobRecord.status == JobStatus.QUEUED)) or 0
    if queued + len(new) > max_queued:
        return None
    inserted = session.execute(
        sa.insert(_JOBS).returning(_JOBS.c.incident_id, _JOBS.c.id),
        [
            {
                "incident_id": incident_id,
                "kind": kind,
                "status": JobStatus.QUEUED,
                "step": "queued",
                "payload": wanted[incident_id][0],
                "alerts": wanted[incident_id][1],
                "attempts": 0,
                "error": "",
                "created_at": now,
                "updated_at": now,
            }
            for incident_id in new
        ],
    ).all()
    jobs.update({str(incident_id): QueuedJob(int(job_id), False) for incident_id, job_id in inserted})
    return jobs
