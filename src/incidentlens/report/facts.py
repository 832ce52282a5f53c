"""What reports are built from (the ledger, the audit trail, fixes, metrics, the stored brief) and lookups
from each fact to the audit entry or evidence that records it. Pure: `workflow/reports.py` reads the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from incidentlens.model.enums import HypothesisStatus, IncidentStatus
from incidentlens.report.references import Ref

if TYPE_CHECKING:
    from incidentlens.model.records import Evidence
    from incidentlens.store.fixes_repository import StoredProposal
    from incidentlens.store.rows import AuditEntry, IncidentDetail, StatusEvent
    from incidentlens.workflow.ledger import LedgerEntry
    from incidentlens.workflow.metrics import IncidentMetrics

__all__ = ["BriefEvent", "BriefFacts", "Lookups", "ReportInputs", "brief_facts", "ns_time", "parse_time"]


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """Everything about one incident a report may state, read in one place."""

    detail: IncidentDetail
    ledger: tuple[LedgerEntry, ...]
    audit: tuple[AuditEntry, ...]
    proposals: tuple[StoredProposal, ...]
    metrics: IncidentMetrics
    metric_definitions: Mapping[str, str]
    brief: Mapping[str, Any] = field(default_factory=dict)  # the latest investigation's stored brief
    audit_head: str = ""  # hash at the head of the verified audit chain ("" when not verified)


@dataclass(frozen=True, slots=True)
class BriefEvent:
    at: datetime
    kind: str
    service: str
    text: str
    evidence_id: str


@dataclass(frozen=True, slots=True)
class BriefFacts:
    """The parts of a stored brief (JSON) reports use; missing fields stay None or empty (older briefs)."""

    onset: datetime | None = None
    window_end: datetime | None = None
    onset_reason: str = ""
    affected_services: tuple[str, ...] = ()
    error_rate_before: float | None = None
    error_rate_during: float | None = None
    latency_p95_before_ms: float | None = None
    latency_p95_during_ms: float | None = None
    alerts: tuple[str, ...] = ()
    timeline: tuple[BriefEvent, ...] = ()
    abstained: bool = False


def ns_time(value: Any) -> datetime | None:
    """UTC datetime from Unix nanoseconds; None for anything that is not a positive number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1e9, tz=UTC)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def brief_facts(brief: Mapping[str, Any]) -> BriefFacts:
    """Read the fields reports need from a stored brief, tolerating briefs from older releases."""
    raw_impact = brief.get("impact")
    impact: Mapping[str, Any] = raw_impact if isinstance(raw_impact, Mapping) else {}
    window = brief.get("incident")
    events = []
    for item in brief.get("timeline") or ():
        if isinstance(item, Mapping) and (at := ns_time(item.get("ts_ns"))) is not None:
            events.append(
                BriefEvent(
                    at,
                    str(item.get("kind", "")),
                    str(item.get("service", "")),
                    str(item.get("text", "")),
                    str(item.get("evidence_id") or ""),
                )
            )
    return BriefFacts(
        onset=ns_time(brief.get("onset_ns")),
        window_end=ns_time(window[1]) if isinstance(window, list) and len(window) == 2 else None,
        onset_reason=str(brief.get("onset_reason") or ""),
        affected_services=_strings(impact.get("affected_services")),
        error_rate_before=_float(impact.get("error_rate_before")),
        error_rate_during=_float(impact.get("error_rate_during")),
        latency_p95_before_ms=_float(impact.get("latency_p95_before_ms")),
        latency_p95_during_ms=_float(impact.get("latency_p95_during_ms")),
        alerts=_strings(impact.get("alerts")),
        timeline=tuple(events),
        abstained=bool(brief.get("abstained", False)),
    )


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


class Lookups:
    """Indexes from ledger facts (status events, assignments, decisions, proposals) to their audit seqs."""

    def __init__(self, inputs: ReportInputs) -> None:
        self.inputs = inputs
        detail = inputs.detail
        self.incident_id = detail.incident.id
        self.audit = {e.seq: e for e in inputs.audit if e.incident_id == self.incident_id}
        self.evidence: dict[str, Evidence] = {e.id: e for e in detail.evidence}
        self._status: dict[tuple[str, datetime], int] = {}
        self._assign: dict[tuple[str, datetime], int] = {}
        self._decision: dict[tuple[str, str, datetime], int] = {}
        self.by_proposal: dict[str, list[AuditEntry]] = {}
        self._investigation: dict[str, int] = {}
        for entry in self.audit.values():
            self._index(entry)
        latest = detail.investigations[0].id if detail.investigations else None
        self.brief = brief_facts(inputs.brief) if latest is not None else BriefFacts()
        self.brief_ref = self.investigation_ref(latest) if latest is not None else None

    def _index(self, entry: AuditEntry) -> None:
        data = entry.payload if entry.data else {}
        if not isinstance(data, Mapping):
            return
        if entry.entity == "incident":
            if entry.action == "open":
                for event in data.get("events") or ():
                    with_time = parse_time(event.get("at")) if isinstance(event, Mapping) else None
                    if with_time is not None:
                        self._status.setdefault((str(event.get("status")), with_time), entry.seq)
            elif "event" in data:
                self._status.setdefault((str(data["event"]), _utc(entry.at)), entry.seq)
            elif entry.action in ("assign", "reassign"):
                self._assign.setdefault((str(data.get("owner")), _utc(entry.at)), entry.seq)
        elif entry.entity == "hypothesis" and entry.action in ("confirm", "refute"):
            hypothesis_id = entry.entity_id.split("/", 1)[-1]
            decision = "confirmed" if entry.action == "confirm" else "refuted"
            self._decision.setdefault((hypothesis_id, decision, _utc(entry.at)), entry.seq)
        elif entry.entity == "fix_proposal":
            self.by_proposal.setdefault(entry.entity_id, []).append(entry)
        elif entry.entity == "investigation" and entry.action == "record":
            self._investigation.setdefault(entry.entity_id, entry.seq)

    def status_ref(self, status: IncidentStatus | str, at: datetime) -> Ref | None:
        seq = self._status.get((str(status), _utc(at)))
        return Ref.audit(seq) if seq is not None else None

    def event_ref(self, event: StatusEvent) -> Ref | None:
        return self.status_ref(event.status, event.at)

    def assignment_ref(self, owner: str, at: datetime) -> Ref | None:
        seq = self._assign.get((owner, _utc(at)))
        return Ref.audit(seq) if seq is not None else None

    def decision_ref(self, hypothesis_id: str, decision: HypothesisStatus, at: datetime) -> Ref | None:
        seq = self._decision.get((hypothesis_id, decision.value, _utc(at)))
        return Ref.audit(seq) if seq is not None else None

    def investigation_ref(self, investigation_id: int) -> Ref | None:
        seq = self._investigation.get(str(investigation_id))
        return Ref.audit(seq) if seq is not None else None

    def proposal_entries(self, proposal_id: str, *actions: str) -> list[AuditEntry]:
        return [e for e in self.by_proposal.get(proposal_id, []) if not actions or e.action in actions]

    def evidence_refs(self, ids: Sequence[str], *, limit: int = 6) -> list[Ref]:
        """References for the ids that exist as evidence of this incident (unknown ids are not cited)."""
        return [Ref.evidence(i) for i in ids if i in self.evidence][:limit]

    def as_of(self) -> Ref | None:
        """The incident's latest audit entry: what a statement of absence ("nothing was refuted") holds up to."""
        return Ref.audit(max(self.audit)) if self.audit else None

    def first_event(self, status: IncidentStatus, *, recorded: bool = False) -> StatusEvent | None:
        """The first event with `status`; with `recorded`, the first one the audit chain records."""
        events = self.inputs.detail.status_events
        return next((e for e in events if e.status is status and (not recorded or self.event_ref(e))), None)

    def last_event(self, status: IncidentStatus, *, recorded: bool = False) -> StatusEvent | None:
        events = reversed(self.inputs.detail.status_events)
        return next((e for e in events if e.status is status and (not recorded or self.event_ref(e))), None)


def parse_time(value: Any) -> datetime | None:
    """An ISO time from audit data as UTC; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return _utc(datetime.fromisoformat(value))
    except ValueError:
        return None
