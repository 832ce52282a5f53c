"""Jobs a dead server left running go back to the queue, but a live replica's running job is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from incidentlens.store.database import open_database
from incidentlens.store.jobs_repository import JobStatus, claim_next, get_job
from incidentlens.web.intake import accept_alerts, parse_payload
from incidentlens.web.worker import STALE_AFTER, Worker


def _alert(fingerprint: str) -> dict[str, object]:
    alert = {"status": "firing", "labels": {"alertname": fingerprint}, "startsAt": "2026-01-01T00:00:00Z"}
    return {"alerts": [{**alert, "fingerprint": fingerprint}]}


def test_start_requeues_orphaned_jobs_and_only_stale_ones_on_a_shared_database(database_url: str) -> None:
    db = open_database(database_url)
    try:
        for fingerprint in ("dead", "alive"):
            alerts, _ = parse_payload("alertmanager", _alert(fingerprint))
            accept_alerts(db, alerts=alerts, max_queued=10)
        now = datetime.now(UTC)
        with db.session() as session:
            dead, alive = claim_next(session, now=now), claim_next(session, now=now)
        assert dead is not None and alive is not None
        with db.session() as session:  # the dead server's last heartbeat was long ago
            session.execute(
                sa.text("UPDATE jobs SET updated_at = :t WHERE id = :id"),
                {"t": now - STALE_AFTER - timedelta(minutes=1), "id": dead.id},
            )
        worker = Worker(db, lambda _db, _job, _progress: None, queue_size=10, poll_seconds=60)
        requeued = worker.start()
        worker.stop()
        with db.session(readonly=True) as session:
            dead_now, alive_now = get_job(session, job_id=dead.id), get_job(session, job_id=alive.id)
    finally:
        db.dispose()
    assert dead_now.status in (JobStatus.QUEUED, JobStatus.DONE)  # requeued (and maybe already run again)
    if db.engine.dialect.name == "sqlite":
        # One server owns a SQLite file: whatever was running at start is orphaned.
        assert requeued == 2
    else:
        # A shared PostgreSQL database: the other replica's job, with a fresh heartbeat, keeps running.
        assert requeued == 1 and alive_now.status is JobStatus.RUNNING
