"""Model records <-> table rows. Kept apart so the tables stay declarations and the records stay pure."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import datetime
from typing import Any

from incidentlens.errors import StoreError
from incidentlens.model.enums import OwnerSource
from incidentlens.model.records import (
    CodeLocation,
    Evidence,
    Hypothesis,
    Owner,
    Prediction,
    SuspectCommit,
    TimeRange,
)
from incidentlens.store.rows import Assignment, HypothesisDecision, IncidentRow, InvestigationRow, StatusEvent
from incidentlens.store.tables import (
    AssignmentRecord,
    EvidenceRecord,
    HypothesisDecisionRecord,
    HypothesisRecord,
    IncidentRecord,
    InvestigationRecord,
    StatusEventRecord,
)


def _finite(value: float, what: str) -> float:
    # SQLite turns NaN into NULL and PostgreSQL JSON rejects it: refuse it here with a clear message.
    if not math.isfinite(value):
        raise StoreError(f"{what} is {value}: only finite numbers can be stored")
    return value


def evidence_record(item: Evidence, *, incident_id: str, investigation_id: int) -> EvidenceRecord:
    span = item.time_range
    return EvidenceRecord(
        incident_id=incident_id,
        id=item.id,
        investigation_id=investigation_id,
        kind=item.kind,
        service=item.service,
        summary=item.summary,
        excerpt=item.excerpt,
        start_ns=span.start_ns if span else None,
        end_ns=span.end_ns if span else None,
        source_ref=item.source_ref,
        score=_finite(item.score, f"score of evidence {item.id!r}"),
        attributes=dict(item.attributes),
    )


def evidence_from(row: EvidenceRecord) -> Evidence:
    span = None
    if row.start_ns is not None and row.end_ns is not None:
        span = TimeRange(row.start_ns, row.end_ns)
    return Evidence(
        id=row.id,
        kind=row.kind,
        service=row.service,
        summary=row.summary,
        excerpt=row.excerpt,
        time_range=span,
        source_ref=row.source_ref,
        score=row.score,
        attributes=dict(row.attributes),
    )


def hypothesis_record(
    item: Hypothesis, *, incident_id: str, investigation_id: int, rank: int, created_at: datetime
) -> HypothesisRecord:
    return HypothesisRecord(
        investigation_id=investigation_id,
        id=item.id,
        incident_id=incident_id,
        rank=rank,
        claim=item.claim,
        service=item.service,
        component=item.component,
        fault=item.fault,
        confidence=_finite(item.confidence, f"confidence of hypothesis {item.id!r}"),
        status=item.status,
        supporting=list(item.supporting),
        contradicting=list(item.contradicting),
        predictions=[asdict(p) for p in item.predictions],
        details={
            "locations": [asdict(loc) for loc in item.locations],
            "suspect_commits": [{**asdict(c), "files": list(c.files)} for c in item.suspect_commits],
            "owners": [{**asdict(o), "source": o.source.value} for o in item.owners],
        },
        created_at=created_at,
    )


def hypothesis_from(row: HypothesisRecord) -> Hypothesis:
    details: dict[str, Any] = row.details
    return Hypothesis(
        id=row.id,
        claim=row.claim,
        service=row.service,
        fault=row.fault,
        confidence=row.confidence,
        supporting=tuple(row.supporting),
        contradicting=tuple(row.contradicting),
        predictions=tuple(Prediction(**p) for p in row.predictions),
        component=row.component,
        status=row.status,
        locations=tuple(CodeLocation(**loc) for loc in details.get("locations", [])),
        suspect_commits=tuple(
            SuspectCommit(**{**c, "files": tuple(c.get("files", ()))}) for c in details.get("suspect_commits", [])
        ),
        owners=tuple(Owner(**{**o, "source": OwnerSource(o["source"])}) for o in details.get("owners", [])),
    )


def incident_row(row: IncidentRecord, *, investigation_count: int) -> IncidentRow:
    return IncidentRow(
        id=row.id,
        title=row.title,
        status=row.status,
        severity=row.severity,
        service=row.service,
        detected_at=row.detected_at,
        opened_at=row.opened_at,
        alert_fingerprint=row.alert_fingerprint,
        created_at=row.created_at,
        updated_at=row.updated_at,
        investigation_count=investigation_count,
    )


def investigation_row(row: InvestigationRecord) -> InvestigationRow:
    return InvestigationRow(
        id=row.id,
        incident_id=row.incident_id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        workspace=row.workspace,
        input_summary=dict(row.input_summary),
        tool_version=row.tool_version,
    )


def status_event(row: StatusEventRecord) -> StatusEvent:
    return StatusEvent(status=row.status, at=row.at, actor=row.actor, note=row.note)


def assignment(row: AssignmentRecord) -> Assignment:
    return Assignment(owner=row.owner, at=row.at, actor=row.actor, note=row.note)


def decision(row: HypothesisDecisionRecord) -> HypothesisDecision:
    return HypothesisDecision(
        hypothesis_id=row.hypothesis_id, decision=row.decision, comment=row.comment, actor=row.actor, at=row.at
    )
