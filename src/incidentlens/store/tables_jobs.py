"""The `jobs` table: background investigations queued by webhooks, with their progress.

A job is queued, then running, then done or failed; `step` says what it is doing now so the incident page
can show it. Jobs survive a restart: running ones go back to queued when the server starts again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidentlens.store.tables import Base
from incidentlens.store.types import EnumText, UtcDateTime


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobRecord(Base):
    """One background investigation of an incident; alerts arriving while it waits coalesce into it."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_status_id", "status", "id"),
        sa.Index("ix_jobs_incident_id", "incident_id"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    status: Mapped[JobStatus] = mapped_column(EnumText(JobStatus), nullable=False)
    step: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    # The latest alert payload (source + alert); the investigation uses its start as alert time.
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    alerts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    error: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    investigation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("investigations.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
