"""The background worker: runs queued investigations one at a time, recording progress in the `jobs` table.

The queue lives in the workflow database, so it is bounded (see `intake`), visible (`GET /api/v1/jobs`),
shared by server replicas on one PostgreSQL database, and survives a restart:
- a server that stops (SIGTERM or Ctrl-C, also when sent to its whole process group) puts its running job
  back in the queue; the next start, or another replica, runs it again;
- a running job's heartbeat moves `updated_at`; a job whose heartbeat stopped (its server was killed) goes
  back to the queue after `STALE_AFTER`, picked up by any replica;
- a job whose worker process died is retried up to `MAX_ATTEMPTS` times, then failed; a job is never left
  `running` because recording its outcome failed once (that is retried until it succeeds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from incidentlens.errors import IncidentLensError
from incidentlens.store.database import Database
from incidentlens.store.jobs_repository import (
    JobRow,
    JobStatus,
    claim_next,
    finish_job,
    get_job,
    heartbeat,
    requeue_running,
    set_step,
)

__all__ = [
    "HEARTBEAT_SECONDS",
    "MAX_ATTEMPTS",
    "STALE_AFTER",
    "Investigator",
    "JobInterruptedError",
    "OnFinished",
    "Progress",
    "Worker",
    "WorkerProcessDiedError",
]

HEARTBEAT_SECONDS = 10.0
STALE_AFTER = timedelta(seconds=120)
MAX_ATTEMPTS = 3
STALE_CHECK_EVERY = timedelta(seconds=30)
_FINISH_BACKOFF_MAX = 5.0
_log = logging.getLogger("incidentlens.web.worker")


class JobInterruptedError(Exception):
    """The server is stopping: the job goes back to the queue rather than failing."""


class WorkerProcessDiedError(Exception):
    """The process running the analysis died (killed, out of memory) without an answer."""


class Progress:
    """What an investigator reports through (`progress("step")`), and whether the server is stopping."""

    def __init__(self, report: Callable[[str], None], stopping: threading.Event) -> None:
        self._report = report
        self._stopping = stopping

    def __call__(self, step: str) -> None:
        self._report(step)

    @property
    def stopping(self) -> bool:
        """True once the server stops: a long investigation should give up (raise JobInterruptedError)."""
        return self._stopping.is_set()


# Runs one job; returns the investigation id it recorded (None when there was nothing to record).
Investigator = Callable[[Database, JobRow, Progress], "int | None"]
OnFinished = Callable[[JobRow], None]


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
        self._checked_stale: datetime | None = None

    def start(self) -> int:
        """Requeue jobs a previous server left running, then start the thread; returns how many were requeued.

        On SQLite one server owns the database, so every running job is orphaned. On a shared PostgreSQL
        database other replicas may be running theirs: only jobs whose heartbeat stopped are requeued.
        """
        now = datetime.now(UTC)
        single = self.db.engine.dialect.name == "sqlite"
        with self.db.session() as session:
            requeued = requeue_running(session, now=now, idle_since=None if single else now - STALE_AFTER)
        if requeued:
            _log.info("requeued %d job(s) left running by a previous server", requeued)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="incidentlens-worker", daemon=True)
        self._thread.start()
        return requeued

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop: a running job is interrupted and put back in the queue for the next start (or another replica)."""
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
                self._requeue_stale()
                ran = self.run_once()
            except IncidentLensError as exc:  # the database itself failed: log, back off, try again
                _log.error("worker cannot reach the job queue: %s", exc)
                ran = None
            if ran is None:
                self._wake.wait(self._poll)
                self._wake.clear()

    def _requeue_stale(self) -> None:
        now = datetime.now(UTC)
        if self._checked_stale is not None and now - self._checked_stale < STALE_CHECK_EVERY:
            return  # a write transaction each poll would compete with intake for nothing
        self._checked_stale = now
        with self.db.session() as session:
            stale = requeue_running(
                session, now=now, idle_since=now - STALE_AFTER, step="queued again: its server stopped answering"
            )
        if stale:
            _log.warning("requeued %d job(s) whose server stopped its heartbeat", stale)

    def _progress(self, job_id: int) -> Progress:
        def report(step: str) -> None:
            with self.db.session() as session:
                set_step(session, job_id=job_id, step=step, now=datetime.now(UTC))

        return Progress(report, self._stop)

    def _run(self, job: JobRow) -> JobRow:
        beating = threading.Event()
        pulse = threading.Thread(target=self._heartbeat, args=(job.id, beating), name="incidentlens-heartbeat")
        pulse.daemon = True
        pulse.start()
        try:
            finished = self._outcome(job)
        finally:
            beating.set()
            pulse.join()
        if self._on_finished is not None and finished.status in (JobStatus.DONE, JobStatus.FAILED):
            try:
                self._on_finished(finished)
            except IncidentLensError as exc:
                _log.warning("after job %d: %s", job.id, exc)
                with self.db.session() as session:
                    set_step(session, job_id=job.id, step=f"{finished.step}; {exc}", now=datetime.now(UTC))
        return finished

    def _outcome(self, job: JobRow) -> JobRow:
        investigation_id: int | None = None
        try:
            investigation_id = self._investigator(self.db, job, self._progress(job.id))
        except JobInterruptedError:
            return self._requeue(job, "queued again: the server stopped during the run")
        except WorkerProcessDiedError as exc:
            if self._stop.is_set():
                return self._requeue(job, "queued again: the server stopped during the run")
            if job.attempts < MAX_ATTEMPTS:
                return self._requeue(job, f"queued again (attempt {job.attempts} of {MAX_ATTEMPTS}): {exc}")
            return self._finish(job, JobStatus.FAILED, "failed", error=f"{exc} (after {job.attempts} attempts)")
        except IncidentLensError as exc:
            return self._finish(job, JobStatus.FAILED, "failed", error=str(exc))
        except Exception as exc:  # a bug must fail the job visibly, not kill the worker thread
            _log.exception("job %d (%s) failed unexpectedly", job.id, job.incident_id)
            return self._finish(job, JobStatus.FAILED, "failed", error=f"internal error: {type(exc).__name__}: {exc}")
        step = "done" if investigation_id is not None else "done: nothing to investigate"
        return self._finish(job, JobStatus.DONE, step, investigation_id=investigation_id)

    def _heartbeat(self, job_id: int, done: threading.Event) -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            try:
                with self.db.session() as session:
                    heartbeat(session, job_id=job_id, now=datetime.now(UTC))
            except IncidentLensError as exc:  # the next beat (or the outcome) will try again
                _log.warning("heartbeat of job %d: %s", job_id, exc)

    def _requeue(self, job: JobRow, step: str) -> JobRow:
        def write() -> JobRow:
            with self.db.session() as session:
                requeue_running(session, now=datetime.now(UTC), job_id=job.id, step=step)
                return get_job(session, job_id=job.id)

        _log.info("job %d (%s): %s", job.id, job.incident_id, step)
        return self._persist(job, write)

    def _finish(
        self, job: JobRow, status: JobStatus, step: str, *, error: str = "", investigation_id: int | None = None
    ) -> JobRow:
        def write() -> JobRow:
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

        return self._persist(job, write)

    def _persist(self, job: JobRow, write: Callable[[], JobRow]) -> JobRow:
        """Write a job's outcome, retrying while the database refuses (locked, restarting): a job whose outcome
        is lost would stay `running`. When the server stops first, the heartbeat check requeues it later."""
        delay = 0.25
        while True:
            try:
                return write()
            except IncidentLensError as exc:
                if self._stop.is_set() and delay >= _FINISH_BACKOFF_MAX:
                    raise
                _log.warning("recording the outcome of job %d failed, retrying in %.1f s: %s", job.id, delay, exc)
                time.sleep(delay)
                delay = min(delay * 2, _FINISH_BACKOFF_MAX)
