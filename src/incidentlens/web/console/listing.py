"""What the incidents list and the metrics page show: rows with MTTx so far, filters, MTTx over time."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from incidentlens.report.svg import MttxPoint, mttx_chart_svg
from incidentlens.store.database import Database
from incidentlens.store.repository import list_incidents
from incidentlens.store.rows import IncidentFacts, IncidentRow
from incidentlens.workflow.incidents import incident_facts
from incidentlens.workflow.metrics import (
    DEFINITIONS,
    IncidentMetrics,
    Metric,
    MetricsReport,
    incident_metrics,
    summarise,
)

__all__ = ["CHART_METRICS", "IncidentListRow", "incident_rows", "metrics_report", "mttx_chart"]

CHART_METRICS = (Metric.MTTA, Metric.MTTU, Metric.MTTO, Metric.MTTR)
MAX_LISTED = 500


@dataclass(frozen=True, slots=True)
class IncidentListRow:
    incident: IncidentRow
    metrics: IncidentMetrics
    age: timedelta


def _facts(db: Database) -> list[IncidentFacts]:
    return [incident_facts(db, incident_id=row.id) for row in list_incidents(db)[:MAX_LISTED]]


def incident_rows(
    db: Database, *, now: datetime, status: str = "", service: str = "", severity: str = ""
) -> tuple[list[IncidentListRow], dict[str, list[str]]]:
    """Rows matching the filters (empty filter: any), and the values each filter can take."""
    rows = [IncidentListRow(f.incident, incident_metrics(f), now - f.incident.detected_at) for f in _facts(db)]
    choices = {
        "status": sorted({r.incident.status.value for r in rows}),
        "service": sorted({r.incident.service for r in rows if r.incident.service}),
        "severity": sorted({r.incident.severity.value for r in rows}),
    }
    chosen = [
        r
        for r in rows
        if (not status or r.incident.status.value == status)
        and (not service or r.incident.service == service)
        and (not severity or r.incident.severity.value == severity)
    ]
    return chosen, choices


def metrics_report(db: Database) -> MetricsReport:
    return summarise(_facts(db))


def _median_minutes(items: Sequence[IncidentMetrics], metric: Metric) -> float | None:
    values = [d.total_seconds() / 60 for m in items if (d := m.durations[metric]) is not None]
    return float(statistics.median(values)) if values else None


def mttx_chart(report: MetricsReport, *, by: str) -> tuple[str, list[MttxPoint]]:
    """The SVG chart and its data (for the table beside it): medians per ISO week, or each incident."""
    finished = sorted(report.finished, key=lambda m: m.detected_at)
    if by == "incident":
        points = [MttxPoint(m.incident_id, tuple(_median_minutes([m], k) for k in CHART_METRICS)) for m in finished]
    else:
        weeks: dict[str, list[IncidentMetrics]] = {}
        for m in finished:
            year, week, _ = m.detected_at.isocalendar()
            weeks.setdefault(f"{year}-W{week:02d}", []).append(m)
        points = [MttxPoint(w, tuple(_median_minutes(ms, k) for k in CHART_METRICS)) for w, ms in weeks.items()]
    names = [k.value.upper() for k in CHART_METRICS]
    title = "Median MTTA, MTTU, MTTO and MTTR " + ("per incident" if by == "incident" else "per week") + " (minutes)"
    return mttx_chart_svg(metrics=names, points=points, title=title), points


DEFINITION_ROWS = [(m.value.upper(), text) for m, text in DEFINITIONS.items()]
