"""Frozen values the store takes and returns, so callers never hold a live ORM object or session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidentlens.model.enums import IncidentStatus, Severity
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


CLOSED_STATUSES = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED})
