"""The background worker: runs queued investigations one at a time, recording progress in the `jobs` table.

The queue lives in the workflow database, so it is bounded (see `intake`), visible (`GET /api/v1/jobs`) and
survives a restart: jobs a stopped server left running are queued again when the worker starts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from incidentlens.errors import IncidentLensError
from incidentlens.store.database import Database
from incidentlens.store.jobs_repository import JobRow, JobStatus, claim_next, finish_job, requeue_running, set_step

__all__ = ["Investigator", "OnFinished", "Progress", "Worker"]

Progress = Callable[[str], None]
# Runs one job; returns the investigation id it recorded (None when there was nothing to record).
Investigator = Callable[[Database, JobRow, Progress], "int | None"]
OnFinished = Callable[[JobRow], None]
_log = logging.getLogger("incidentlens.web.worker")


class Worker:
    """One thread draining the job queue; `wake()` after queueing so it starts at once."""

    def __init__(
        self,
        db: Database,
        investigator: Investigator,
        *,
        queue_size: int,
        on_finished: OnFinished | None = None,
        poll_seconds: float = 2.0,
    ) -> None:
        self.db = db
        self.queue_size = queue_size
        self._investigator = investigator
        self._on_finished = on_finished
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Requeue jobs left running by a previous server, then start the thread; returns how many were requeued."""
        with self.db.session() as session:
            requeued = requeue_running(session, now=datetime.now(UTC))
        if requeued:
            _log.info("requeued %d job(s) left running by a previous server", requeued)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="incidentlens-worker", daemon=True)
        self._thread.start()
        return requeued

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current job (a job cut short stays running and is requeued on the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_once(self) -> JobRow | None:
        """Claim and run the oldest queued job; None when the queue is empty."""
        with self.db.session() as session:
            job = claim_next(session, now=datetime.now(UTC))
        if job is None:
            return None
        return self._run(job)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except IncidentLensError as exc:  # the database itself failed: log, back off, try again
                _log.error("worker cannot reach the job queue: %s", exc)
                ran = None
            if ran is None:
                self._wake.wait(self._poll)
                self._wake.clear()

    def _progress(self, job_id: int) -> Progress:
        def report(step: str) -> None:
            with self.db.session() as session:
                set_step(session, job_id=job_id, step=step, now=datetime.now(UTC))

        return report

    def _run(self, job: JobRow) -> JobRow:
        investigation_id: int | None = None
        try:
            investigation_id = self._investigator(self.db, job, self._progress(job.id))
        except IncidentLensError as exc:
            finished = self._finish(job, JobStatus.FAILED, "failed", error=str(exc))
        except Exception as exc:  # a bug must fail the job visibly, not kill the worker thread
            _log.exception("job %d (%s) failed unexpectedly", job.id, job.incident_id)
            finished = self._finish(
                job, JobStatus.FAILED, "failed", error=f"internal error: {type(exc).__name__}: {exc}"
            )
        else:
            step = "done" if investigation_id is not None else "done: nothing to investigate"
            finished = self._finish(job, JobStatus.DONE, step, investigation_id=investigation_id)
        if self._on_finished is not None:
            try:
                self._on_finished(finished)
            except IncidentLensError as exc:
                _log.warning("after job %d: %s", job.id, exc)
                with self.db.session() as session:
                    set_step(session, job_id=job.id, step=f"{finished.step}; {exc}", now=datetime.now(UTC))
        return finished

    def _finish(
        self, job: JobRow, status: JobStatus, step: str, *, error: str = "", investigation_id: int | None = None
    ) -> JobRow:
        with self.db.session() as session:
            return finish_job(
                session,
                job_id=job.id,
                status=status,
                step=step,
                now=datetime.now(UTC),
                error=error,
                investigation_id=investigation_id,
            )
