"""Background investigations: their status and current step."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from incidentlens.store.jobs_repository import JobStatus, get_job, job_counts, list_jobs
from incidentlens.web.api.deps import DbDep, Reader
from incidentlens.workflow.views import job_json

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", summary="Jobs newest first, with counts per status")
def list_all(
    db: DbDep,
    _user: Reader,
    incident: str | None = Query(default=None, max_length=64),
    status: JobStatus | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    with db.session(readonly=True) as session:
        rows = list_jobs(session, incident_id=incident, status=status, limit=limit)
        counts = job_counts(session)
    return {"counts": counts, "jobs": [job_json(j) for j in rows]}


@router.get("/{job_id}", summary="One job")
def show(db: DbDep, _user: Reader, job_id: int = Path(ge=1, le=2**62)) -> dict[str, Any]:
    with db.session(readonly=True) as session:
        return job_json(get_job(session, job_id=job_id))
