"""What the brief keeps so the console can draw pictures: an exemplar trace and metric series around onset.

Read from the telemetry store while it is open (the brief outlives the raw telemetry).
"""

from __future__ import annotations

from incidentlens.model import EvidenceKind
from incidentlens.report.brief import ExemplarTrace, MetricSeries, RankedHypothesis, TraceSpan
from incidentlens.telemetry.queries import TelemetryQueries

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
            rows = queries.store.rows(
                "SELECT span_id, parent_span_id, service, name, start_ns, end_ns, status = 'ERROR',"
                " count(*) OVER () FROM spans WHERE trace_id = $1 ORDER BY start_ns, span_id LIMIT $2",
                [trace_id, EXEMPLAR_MAX_SPANS],
            )
            if rows:
                spans = tuple(TraceSpan(r[0], r[1] or "", r[2], r[3], int(r[4]), int(r[5]), bool(r[6])) for r in rows)
                return ExemplarTrace(trace_id, e.id, spans, int(rows[0][7]))
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
        rows = queries.store.rows(
            "SELECT ts_ns, avg(value) FROM metrics WHERE service = $1 AND name = $2 AND value IS NOT NULL"
            " AND isfinite(value) AND ts_ns BETWEEN $3 AND $4 GROUP BY ts_ns ORDER BY ts_ns",
            [e.service, str(e.attributes["metric"]), onset_ns - SPARKLINE_SPAN_NS, onset_ns + SPARKLINE_SPAN_NS],
        )
        step = max(1, -(-len(rows) // SPARKLINE_MAX_POINTS))  # ceil: every step-th point keeps at most the cap
        points = tuple((int(r[0]), float(r[1])) for r in rows[::step])
        if len(points) >= 2:
            out.append(MetricSeries(e.id, e.service, str(e.attributes["metric"]), points))
    return tuple(out)
