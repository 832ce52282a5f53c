"""What the brief keeps so the console can draw pictures: an exemplar trace and metric series around onset.

Read from the telemetry store while it is open (the brief outlives the raw telemetry).
"""

from __future__ import annotations

from incidentlens.model import EvidenceKind, TimeRange
from incidentlens.report.brief import ExemplarTrace, MetricSeries, RankedHypothesis, TraceSpan
from incidentlens.telemetry.protocol import TelemetryQueries

# What the brief keeps for pictures: one exemplar trace of the top hypothesis, a few metric series.
EXEMPLAR_MAX_SPANS = 200
SPARKLINE_MAX_SERIES = 4
SPARKLINE_MAX_POINTS = 120
SPARKLINE_SPAN_NS = 20 * 60 * 1_000_000_000  # each side of the onset


def exemplar_trace(queries: TelemetryQueries, ranked: tuple[RankedHypothesis, ...]) -> ExemplarTrace | None:
    """The first trace the hypotheses' evidence cites that the store holds, capped at EXEMPLAR_MAX_SPANS spans."""
    for rh in ranked:
        for e in rh.evidence_for:
            trace_id = e.source_ref.removeprefix("trace:") if e.source_ref.startswith("trace:") else ""
            if not trace_id:
                continue
            rows, total = queries.trace_spans(trace_id, EXEMPLAR_MAX_SPANS)
            if rows:
                spans = tuple(
                    TraceSpan(r.span_id, r.parent_span_id, r.service, r.name, r.start_ns, r.end_ns, r.error)
                    for r in rows
                )
                return ExemplarTrace(trace_id, e.id, spans, total)
    return None


def metric_series(
    queries: TelemetryQueries, ranked: tuple[RankedHypothesis, ...], *, onset_ns: int
) -> tuple[MetricSeries, ...]:
    """The cited metrics around the onset, averaged over the service's series of that name, points capped."""
    out: list[MetricSeries] = []
    seen: set[str] = set()
    for e in (e for rh in ranked for e in rh.evidence_for if e.kind is EvidenceKind.METRIC_ANOMALY):
        if e.id in seen or not e.service or "metric" not in e.attributes or len(out) >= SPARKLINE_MAX_SERIES:
            continue
        seen.add(e.id)
        around = TimeRange(onset_ns - SPARKLINE_SPAN_NS, onset_ns + SPARKLINE_SPAN_NS)
        rows = queries.metric_points(e.service, str(e.attributes["metric"]), around)
        step = max(1, -(-len(rows) // SPARKLINE_MAX_POINTS))  # ceil: every step-th point keeps at most the cap
        points = tuple(rows[::step])
        if len(points) >= 2:
            out.append(MetricSeries(e.id, e.service, str(e.attributes["metric"]), points))
    return tuple(out)
