"""The investigation a background job runs: configured telemetry plus the alert, through the same pipeline as
`incidentlens investigate`, recorded on the alert's incident."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incidentlens.errors import InputError
from incidentlens.ingest.runner import ingest_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.memory.fingerprint import Fingerprint
from incidentlens.memory.index import MemoryIndex
from incidentlens.memory.indexing import load_fingerprints
from incidentlens.memory.retrieve import recaller
from incidentlens.model.enums import IncidentStatus, Severity
from incidentlens.pipeline import Investigation, investigate
from incidentlens.report.render import render_json
from incidentlens.store import lifecycle_repository
from incidentlens.store.database import Database
from incidentlens.store.jobs_repository import JobRow
from incidentlens.store.rows import StatusEvent, datetime_to_ns
from incidentlens.telemetry.store import TelemetryStore
from incidentlens.web.intake import replay_into
from incidentlens.web.settings import WebSettings
from incidentlens.web.worker import Investigator, Progress
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.incidents import INCIDENT_ENTITY, incident_facts
from incidentlens.workflow.investigations import SYSTEM_ACTOR, record_investigation

__all__ = ["default_investigator"]

# Statuses an investigation moves forward to `investigating` (later milestones stay where they are).
_BEFORE_INVESTIGATING = (IncidentStatus.DETECTED, IncidentStatus.OPENED, IncidentStatus.ACKNOWLEDGED)


def default_investigator(settings: WebSettings) -> Investigator:
    """Investigate `telemetry.paths` with the queued alert as the alert (its start is the alert time)."""

    def run(db: Database, job: JobRow, progress: Progress) -> int | None:
        incident = incident_facts(db, incident_id=job.incident_id).incident
        if not incident.is_open:
            progress(f"skipped: {incident.id} is {incident.status.value}")
            return None
        if not settings.telemetry_paths:
            raise InputError("no telemetry to investigate: configure 'telemetry: {paths: [...]}' in the settings file")
        progress("investigating (in a worker process)")
        fingerprints = load_fingerprints(db)
        paths = [str(p) for p in settings.telemetry_paths]
        # A separate process: the analysis is CPU-bound Python, and in this process it would hold the GIL
        # while webhooks wait. Spawned per job, so nothing of a failed run lingers.
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            result = pool.submit(analyse_alert, paths, job.payload, fingerprints).result()
        progress("recording")
        brief = result.brief
        top = result.hypotheses[0] if result.hypotheses else None
        recorded = record_investigation(
            db,
            title=brief.title,
            service=top.service if top else incident.service,
            severity=Severity(brief.severity) if brief.severity in set(Severity) else incident.severity,
            detected_ns=datetime_to_ns(incident.detected_at),
            alert_fingerprint=incident.alert_fingerprint,
            evidence=list(result.evidence.values()),
            hypotheses=list(result.hypotheses),
            brief_json=render_json(brief),
            workspace="web",
            inputs={**brief.inputs, "job": job.id, "alerts": job.alerts},
            into_incident=job.incident_id,
        )
        _mark_investigating(db, recorded.incident_id)
        return recorded.investigation_id

    return run


def analyse_alert(paths: list[str], payload: dict[str, Any], fingerprints: list[Fingerprint]) -> Investigation:
    """Ingest the telemetry and the queued alert into a private store and investigate (runs in a child)."""
    with TelemetryStore() as store:
        ingest_paths([Path(p) for p in paths], store)
        sink = RowSink()
        replay_into(sink, payload)
        store.append(sink)
        recall = recaller(MemoryIndex(fingerprints)) if fingerprints else None
        return investigate(store, inputs=store.counts(), recall=recall)


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
