"""The investigation a background job runs: the configured sources around the queued alert, through the same
use case as `incidentlens investigate`, recorded on the alert's incident."""

from __future__ import annotations

import multiprocessing
import queue
import signal
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from incidentlens.errors import InputError
from incidentlens.ingest.sink import RowSink
from incidentlens.investigation import InvestigationRequest, InvestigationResult
from incidentlens.investigation import run as run_investigation
from incidentlens.investigation.record import record_result
from incidentlens.memory.fingerprint import Fingerprint
from incidentlens.memory.index import MemoryIndex
from incidentlens.memory.indexing import load_fingerprints
from incidentlens.memory.retrieve import recaller
from incidentlens.model.enums import IncidentStatus
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport
from incidentlens.sources.registry import build_source
from incidentlens.store import lifecycle_repository
from incidentlens.store.database import Database
from incidentlens.store.jobs_repository import JobRow
from incidentlens.store.rows import StatusEvent, datetime_to_ns
from incidentlens.web.intake import replay_into
from incidentlens.web.settings import WebSettings
from incidentlens.web.worker import Investigator, JobInterruptedError, Progress, WorkerProcessDiedError
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.incidents import INCIDENT_ENTITY, incident_facts
from incidentlens.workflow.investigations import SYSTEM_ACTOR

__all__ = ["default_investigator"]

# Statuses an investigation moves forward to `investigating` (later milestones stay where they are).
_BEFORE_INVESTIGATING = (IncidentStatus.DETECTED, IncidentStatus.OPENED, IncidentStatus.ACKNOWLEDGED)


def default_investigator(settings: WebSettings) -> Investigator:
    """Investigate the configured sources around the queued alert (its start gives the window)."""

    def run(db: Database, job: JobRow, progress: Progress) -> int | None:
        incident = incident_facts(db, incident_id=job.incident_id).incident
        if not incident.is_open:
            progress(f"skipped: {incident.id} is {incident.status.value}")
            return None
        if not settings.sources:
            raise InputError(
                "no telemetry to investigate: configure 'sources:' in the settings file (see docs/sources.md)"
            )
        progress(f"investigating in a worker process: {', '.join(c.name for c in settings.sources)}")
        fingerprints = load_fingerprints(db)
        result = _in_worker_process(settings.sources, job.payload, fingerprints, progress)
        progress("recording")
        recorded = record_result(
            db,
            result,
            workspace="web",
            inputs={**result.brief.inputs, "job": job.id, "alerts": job.alerts},
            into_incident=job.incident_id,
            detected_ns=datetime_to_ns(incident.detected_at),
            service=incident.service,
            severity=incident.severity,
        )
        _mark_investigating(db, recorded.incident_id)
        return recorded.investigation_id

    return run


def _in_worker_process(
    sources: tuple[SourceConfig, ...], payload: dict[str, Any], fingerprints: list[Fingerprint], progress: Progress
) -> InvestigationResult:
    """A separate process: the analysis is CPU-bound Python, and in this process it would hold the GIL while
    webhooks wait. Spawned per job, so nothing of a failed run lingers; its progress comes back on a queue.

    The child ignores SIGINT/SIGTERM: a signal sent to the whole process group (Ctrl-C, systemd, Kubernetes)
    must not kill it under the server, which then stops it itself and puts the job back in the queue.
    """
    context = multiprocessing.get_context("spawn")
    messages: multiprocessing.Queue[str] = context.Queue()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_main,
        args=(sender, messages, sources, payload, fingerprints),
        name="incidentlens-investigation",
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        while not receiver.poll(0.2):
            _relay(messages, progress)
            if progress.stopping:
                raise JobInterruptedError("the server is stopping")
            if not child.is_alive() and not receiver.poll(0):
                raise WorkerProcessDiedError(f"the investigation process died (exit code {child.exitcode})")
        try:
            ok, value = receiver.recv()
        except EOFError:
            raise WorkerProcessDiedError(f"the investigation process died (exit code {child.exitcode})") from None
        _relay(messages, progress)
    finally:
        receiver.close()
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join(5)
    if not ok:
        raise value
    result: InvestigationResult = value
    return result


def _relay(messages: multiprocessing.Queue[str], progress: Progress) -> None:
    while True:
        try:
            progress(messages.get_nowait())
        except queue.Empty:
            return


_progress_queue: multiprocessing.Queue[str] | None = None


def _child_main(
    sender: Connection,
    messages: multiprocessing.Queue[str],
    sources: tuple[SourceConfig, ...],
    payload: dict[str, Any],
    fingerprints: list[Fingerprint],
) -> None:
    """The investigation process: signals of the process group are the server's to handle, not ours."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    global _progress_queue
    _progress_queue = messages
    try:
        answer: tuple[bool, Any] = (True, analyse_alert(sources, payload, fingerprints))
    except Exception as exc:  # sent to the server, which records it on the job
        answer = (False, exc)
    try:
        sender.send(answer)
    except Exception as exc:  # an unpicklable exception: send its text instead
        sender.send((False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]} ({exc})")))
    finally:
        messages.close()
        messages.join_thread()
        sender.close()


def _report(message: str) -> None:
    if _progress_queue is not None:
        _progress_queue.put_nowait(message)


class QueuedAlertSource:
    """The alert that started the job, as the webhook parsed it: a local source that gives the window."""

    kind = "webhook"
    signals = ("alerts",)
    live = False

    def __init__(self, payload: dict[str, Any]) -> None:
        self.name = "alert"
        self.payload = payload

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        replay_into(sink, self.payload)
        report = SourceReport(self.name, self.kind, str(self.payload.get("source") or "webhook"))
        report.add_rows("alerts", sink.alerts.total)
        return report


def analyse_alert(
    sources: tuple[SourceConfig, ...], payload: dict[str, Any], fingerprints: list[Fingerprint]
) -> InvestigationResult:
    """Investigate the queued alert with the configured sources (runs in the worker process)."""
    request = InvestigationRequest(
        sources=(QueuedAlertSource(payload), *(build_source(c) for c in sources)),
        recall=recaller(MemoryIndex(fingerprints)) if fingerprints else None,
        progress=_report,
    )
    return run_investigation(request)


def _mark_investigating(db: Database, incident_id: str) -> None:
    """An incident an alert opened reaches `investigating` when its first investigation is recorded."""
    now = datetime.now(UTC)
    with db.session() as session:
        facts = lifecycle_repository.incident_facts(session, incident_id, lock=True)
        if any(e.status is IncidentStatus.INVESTIGATING for e in facts.status_events):
            return
        before = facts.incident.status
        after = IncidentStatus.INVESTIGATING if before in _BEFORE_INVESTIGATING else before
        lifecycle_repository.add_status_event(
            session,
            incident_id=incident_id,
            event=StatusEvent(IncidentStatus.INVESTIGATING, now, SYSTEM_ACTOR, "investigation recorded"),
            new_status=after,
        )
        append_audit(
            session,
            actor=SYSTEM_ACTOR,
            entity=INCIDENT_ENTITY,
            entity_id=incident_id,
            action="investigate",
            at=now,
            incident_id=incident_id,
            data={"event": IncidentStatus.INVESTIGATING, "from": before, "to": after},
        )
