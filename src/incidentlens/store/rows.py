"""Frozen values the store takes and returns, so callers never hold a live ORM object or session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidentlens.model.enums import HypothesisStatus, IncidentStatus, Severity
from incidentlens.model.records import Evidence, Hypothesis, Incident

NS_PER_US = 1_000


def datetime_to_ns(value: datetime) -> int:
    """Exact for the microsecond datetimes the database keeps (no float rounding)."""
    delta = value - datetime.fromtimestamp(0, value.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * NS_PER_US


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One step in an incident's lifecycle: who moved it to which status, when and why."""

    status: IncidentStatus
    at: datetime
    actor: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class IncidentDraft:
    """An incident to create if no open incident has the same alert fingerprint."""

    title: str
    service: str | None
    severity: Severity
    detected_at: datetime
    opened_at: datetime
    alert_fingerprint: str
    status: IncidentStatus
    events: tuple[StatusEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class InvestigationDraft:
    started_at: datetime
    finished_at: datetime
    workspace: str
    input_summary: dict[str, Any]
    brief: Any
    tool_version: str


@dataclass(frozen=True, slots=True)
class RecordedInvestigation:
    incident_id: str
    investigation_id: int
    created_incident: bool = False


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: str
    title: str
    status: IncidentStatus
    severity: Severity
    service: str | None
    detected_at: datetime
    opened_at: datetime
    alert_fingerprint: str
    created_at: datetime
    updated_at: datetime
    investigation_count: int = 0

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    def as_incident(self) -> Incident:
        return Incident(
            id=self.id,
            title=self.title,
            status=self.status,
            detected_ns=datetime_to_ns(self.detected_at),
            service=self.service,
            severity=self.severity,
            alert_fingerprint=self.alert_fingerprint,
        )


@dataclass(frozen=True, slots=True)
class InvestigationRow:
    id: int
    incident_id: str
    started_at: datetime
    finished_at: datetime
    workspace: str
    input_summary: dict[str, Any]
    tool_version: str


@dataclass(frozen=True, slots=True)
class StoredHypothesis:
    """A hypothesis as ranked by one investigation."""

    investigation_id: int
    rank: int
    created_at: datetime
    hypothesis: Hypothesis


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    """An incident with its whole ledger; investigations and hypotheses latest investigation first."""

    incident: IncidentRow
    investigations: tuple[InvestigationRow, ...] = ()
    hypotheses: tuple[StoredHypothesis, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    status_events: tuple[StatusEvent, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    decisions: tuple[HypothesisDecision, ...] = ()


CLOSED_STATUSES = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the hash-chained audit log; `data` is the canonical JSON text that was hashed."""

    seq: int
    at: datetime
    actor: str
    incident_id: str | None
    entity: str
    entity_id: str
    action: str
    data: str
    prev_hash: str
    hash: str

    @property
    def payload(self) -> Any:
        """`data` parsed back into Python values."""
        return json.loads(self.data)


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The last seq and hash the chain recorded: what a verifier compares the log's end against."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Assignment:
    """An incident handed to an owner (a person or team) by an actor."""

    owner: str
    at: datetime
    actor: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class HypothesisDecision:
    """A human's confirm or refute of a hypothesis id; the latest one for an id is in force."""

    hypothesis_id: str
    decision: HypothesisStatus
    comment: str
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What lifecycle rules and metrics need about one incident: its row, status history and owners."""

    incident: IncidentRow
    status_events: tuple[StatusEvent, ...]
    assignments: tuple[Assignment, ...]
