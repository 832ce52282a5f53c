"""MTTx per incident and aggregated: pure functions over incidents' status histories and assignments.

Every duration starts at `detected` (the alert or first signal). Aggregates (count, median, p90) cover
finished incidents only (resolved or closed); open incidents are reported separately with the
milestones they reached so far, never mixed in. Definitions are in docs/workflow.md.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from incidentlens.model.enums import IncidentStatus
from incidentlens.store.rows import IncidentFacts, StatusEvent
from incidentlens.workflow.lifecycle import current_owner, owned_since_assignment, reassignments

__all__ = [
    "DEFINITIONS",
    "IncidentMetrics",
    "Metric",
    "MetricsReport",
    "Summary",
    "incident_metrics",
    "p90",
    "summarise",
    "summary",
]


class Metric(StrEnum):
    MTTA = "mtta"
    MTTU = "mttu"
    MTTO = "mtto"
    MTTM = "mttm"
    MTTR = "mttr"


DEFINITIONS: Mapping[Metric, str] = {
    Metric.MTTA: "time to acknowledge: detected -> first acknowledged",
    Metric.MTTU: "time to understanding: detected -> first hypothesis confirmed by a human (understood)",
    Metric.MTTO: "time to ownership: detected -> the final owner engaged (first owned after the last reassignment)",
    Metric.MTTM: "time to mitigate: detected -> first mitigated",
    Metric.MTTR: "time to resolve: detected -> resolved (the last resolution, if the incident was reopened)",
}

FINISHED = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED})


@dataclass(frozen=True, slots=True)
class IncidentMetrics:
    """One incident's durations (None: milestone not reached) and how often it changed owner."""

    incident_id: str
    title: str
    status: IncidentStatus
    detected_at: datetime
    owner: str | None
    durations: Mapping[Metric, timedelta | None]
    reassignments: int

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def _first(events: Sequence[StatusEvent], status: IncidentStatus) -> StatusEvent | None:
    return next((e for e in events if e.status is status), None)


def incident_metrics(facts: IncidentFacts) -> IncidentMetrics:
    """Durations from detected to each milestone the incident reached."""
    incident = facts.incident
    events = facts.status_events
    resolved = next((e for e in reversed(events) if e.status is IncidentStatus.RESOLVED), None)
    reached = {
        Metric.MTTA: _first(events, IncidentStatus.ACKNOWLEDGED),
        Metric.MTTU: _first(events, IncidentStatus.UNDERSTOOD),
        Metric.MTTO: owned_since_assignment(facts),
        Metric.MTTM: _first(events, IncidentStatus.MITIGATED),
        # A reopened incident is open again: its earlier resolution does not count until it is re-resolved.
        Metric.MTTR: resolved if incident.status in FINISHED else None,
    }
    return IncidentMetrics(
        incident_id=incident.id,
        title=incident.title,
        status=incident.status,
        detected_at=incident.detected_at,
        owner=current_owner(facts.assignments),
        durations={m: (e.at - incident.detected_at if e is not None else None) for m, e in reached.items()},
        reassignments=reassignments(facts.assignments),
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """count, median and p90 of a list of values (seconds or reassignment counts)."""

    count: int
    median: float | None
    p90: float | None


def p90(values: Sequence[float]) -> float:
    """Nearest-rank 90th percentile: the smallest value with at least 90% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(0.9 * len(ordered))) - 1]


def summary(values: Sequence[float]) -> Summary:
    if not values:
        return Summary(count=0, median=None, p90=None)
    return Summary(count=len(values), median=float(statistics.median(values)), p90=float(p90(values)))


@dataclass(frozen=True, slots=True)
class MetricsReport:
    """Aggregates over finished incidents; open incidents listed apart."""

    since: datetime | None
    finished: tuple[IncidentMetrics, ...]
    open: tuple[IncidentMetrics, ...]
    aggregates: Mapping[Metric, Summary]
    reassignments: Summary

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "definitions": {m.value: text for m, text in DEFINITIONS.items()},
            "aggregates": {
                "incidents": len(self.finished),
                **{m.value: _summary_json(s) for m, s in self.aggregates.items()},
                "reassignments": {
                    "total": sum(m.reassignments for m in self.finished),
                    "median": self.reassignments.median,
                    "p90": self.reassignments.p90,
                },
            },
            "finished": [_incident_json(m) for m in self.finished],
            "open": [_incident_json(m) for m in self.open],
        }


def summarise(facts: Sequence[IncidentFacts], *, since: datetime | None = None) -> MetricsReport:
    """Per-incident metrics and aggregates over the finished incidents detected at or after `since`."""
    chosen = [f for f in facts if since is None or f.incident.detected_at >= since]
    per = [incident_metrics(f) for f in chosen]
    finished = tuple(m for m in per if m.finished)
    still_open = tuple(m for m in per if not m.finished)
    aggregates = {
        metric: summary([d.total_seconds() for m in finished if (d := m.durations[metric]) is not None])
        for metric in Metric
    }
    return MetricsReport(
        since=since,
        finished=finished,
        open=still_open,
        aggregates=aggregates,
        reassignments=summary([float(m.reassignments) for m in finished]),
    )


def _summary_json(value: Summary) -> dict[str, Any]:
    return {"count": value.count, "median_seconds": value.median, "p90_seconds": value.p90}


def _incident_json(m: IncidentMetrics) -> dict[str, Any]:
    return {
        "incident": m.incident_id,
        "title": m.title,
        "status": m.status.value,
        "detected_at": m.detected_at.isoformat(),
        "owner": m.owner,
        "reassignments": m.reassignments,
        **{k.value: (d.total_seconds() if d is not None else None) for k, d in m.durations.items()},
    }
