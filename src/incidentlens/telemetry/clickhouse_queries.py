"""The telemetry questions (`protocol.TelemetryQueries`) answered by ClickHouse SQL over the exporter's tables.

Each method is the twin of one in `queries.DuckDBQueries`: the same windows, filters and groupings, written
over the normalising subqueries of `clickhouse_schema.py`, so the analyzers get the same small rows whichever
engine computed them. Only aggregates, one trace's spans and sample log lines cross the wire. Quantiles use
`quantileExactInclusive` (linear interpolation, as DuckDB's `quantile_cont`); an empty filter gives 0 as
DuckDB's `coalesce(..., 0)` does. Every query is bounded by the source's window. Alerts and changes are not
kept in ClickHouse: they come from `local` (the investigation's own store) when given.
"""

from __future__ import annotations

from typing import Any

from incidentlens.model import Alert, Change, TimeRange
from incidentlens.telemetry import clickhouse_tracequeries
from incidentlens.telemetry.clickhouse_connection import ClickHouseConnection, literal
from incidentlens.telemetry.clickhouse_logqueries import (
    exception_frames,
    log_message_groups,
    logger_counts_by_service,
)
from incidentlens.telemetry.clickhouse_schema import OtelSchema
from incidentlens.telemetry.clickhouse_sql import Q, q_if, windows_sql
from incidentlens.telemetry.logqueries import MAX_MESSAGE_VARIANTS
from incidentlens.telemetry.protocol import TelemetryQueries, TimelineBin
from incidentlens.telemetry.rows import (
    Bounds,
    Edge,
    EdgeGap,
    EdgeMetricSeries,
    EntryStats,
    ErrorOrigin,
    FrameGroup,
    LabelledSeries,
    LoggerCount,
    LogMessageGroup,
    MetricPoints,
    MetricShift,
    SelfTimeShift,
    ServiceBin,
    ServiceVolume,
    TraceSpanRow,
)
from incidentlens.telemetry.series_identity import (
    EDGE_CALLEE_LABELS,
    INSTANCE_LABELS,
    REPLACED_WITHIN_NS,
    STARTUP_NAMES,
    STARTUP_NS,
)


class ClickHouseQueries:
    """`TelemetryQueries` pushed down to ClickHouse, bounded by `window` (what the source was asked for)."""

    def __init__(
        self,
        conn: ClickHouseConnection,
        schema: OtelSchema,
        window: TimeRange,
        *,
        local: TelemetryQueries | None = None,
        settings: str = "",
        max_message_groups: int | None = MAX_MESSAGE_VARIANTS,
        max_family_spans: int | None = None,
    ) -> None:
        self.conn = conn
        self.schema = schema
        self.window = window
        self.local = local
        self.settings = settings
        self.max_message_groups = max_message_groups
        self.max_family_spans = max_family_spans
        self._counts: dict[str, int] | None = None

    # --- plumbing -----------------------------------------------------------------------------------

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.conn.rows(sql + (f" SETTINGS {self.settings}" if self.settings else ""))

    def _span_range(self, *ranges: TimeRange) -> tuple[int, int]:
        lo = max(min(r.start_ns for r in ranges), self.window.start_ns)
        hi = min(max(r.end_ns for r in ranges), self.window.end_ns)
        return lo, max(lo, hi)

    def spans(self, *ranges: TimeRange) -> str:
        return self.schema.spans(*self._span_range(*ranges))

    def sample(self) -> tuple[int, int] | None:
        """(kept, out of) trace buckets for the parent/child analyses when the window holds more spans than
        `max_family_spans`; None when every trace is read."""
        if self.max_family_spans is None:
            return None
        spans = self.counts()["spans"]
        if spans <= self.max_family_spans:
            return None
        return max(1, self.max_family_spans * 1000 // spans), 1000

    def sampling_note(self) -> str | None:
        sample = self.sample()
        if sample is None:
            return None
        return (
            f"self time, call gaps and the call graph read {sample[0]} in {sample[1]} traces (chosen by trace id)"
            f" of {self.counts()['spans']} spans, counts scaled up; errors, logs and metrics read every row"
        )

    def family_spans(self, *ranges: TimeRange) -> str:
        """Spans for the parent/child analyses: whole traces, sampled by trace id past `max_family_spans`."""
        return self.schema.spans(*self._span_range(*ranges), sample=self.sample())

    def scaled(self, n: Any) -> int:
        """A count from the sampled traces as an estimate for all of them."""
        sample = self.sample()
        count = int(n)
        return count if sample is None else round(count * sample[1] / sample[0])

    def logs(self, *ranges: TimeRange) -> str:
        return self.schema.logs(*self._span_range(*ranges))

    def metrics(self, *ranges: TimeRange) -> str:
        return self.schema.metrics(*self._span_range(*ranges))

    def counts(self) -> dict[str, int]:
        """Rows per store table inside the window (what a brief calls its inputs)."""
        if self._counts is not None:
            return dict(self._counts)
        w = self.window
        row = self.rows(
            f"SELECT (SELECT count() FROM {self.spans(w)}), (SELECT count() FROM {self.logs(w)}),"
            f" (SELECT count() FROM {self.metrics(w)})"
        )[0]
        local = {"alerts": 0, "changes": 0}
        if self.local is not None:
            local = {"alerts": len(self.local.alerts()), "changes": len(self.local.changes(TimeRange(0, 2**62)))}
        self._counts = {"logs": int(row[1]), "spans": int(row[0]), "metrics": int(row[2]), **local}
        return dict(self._counts)

    # --- the protocol ---------------------------------------------------------------------------------

    def bounds(self) -> Bounds | None:
        w = self.window
        row = self.rows(
            "SELECT min(lo), max(hi) FROM ("
            f"SELECT minOrNull(start_ns) AS lo, maxOrNull(start_ns) AS hi FROM {self.spans(w)}"
            f" UNION ALL SELECT minOrNull(ts_ns), maxOrNull(ts_ns) FROM {self.logs(w)}"
            f" UNION ALL SELECT minOrNull(ts_ns), maxOrNull(ts_ns) FROM {self.metrics(w)})"
        )
        if not row or row[0][0] is None:
            return None
        return Bounds(int(row[0][0]), int(row[0][1]))

    def alerts(self) -> list[Alert]:
        return self.local.alerts() if self.local is not None else []

    def changes(self, window: TimeRange) -> list[Change]:
        return self.local.changes(window) if self.local is not None else []

    def services_by_signal(self) -> dict[str, set[str]]:
        w = self.window
        rows = self.rows(
            f"SELECT DISTINCT 'logs', service FROM {self.logs(w)} WHERE service != ''"
            f" UNION DISTINCT SELECT DISTINCT 'spans', service FROM {self.spans(w)} WHERE service != ''"
            f" UNION DISTINCT SELECT DISTINCT 'metrics', service FROM {self.metrics(w)} WHERE service != ''"
        )
        out: dict[str, set[str]] = {}
        for table, service in rows:
            out.setdefault(str(table), set()).add(str(service))
        return out

    def error_timeline(self, window: TimeRange, bin_ns: int, *, reference_end_ns: int) -> list[TimelineBin]:
        start, end, bin_ns = int(window.start_ns), int(window.end_ns), int(bin_ns)
        ref_range = TimeRange(start, max(start, int(reference_end_ns)))
        rows = self.rows(
            f"WITH ref AS (SELECT service, name, {Q}(0.95)(end_ns - start_ns) AS p95, 1 AS hit"
            f"  FROM {self.spans(ref_range)} WHERE parent_span_id = '' AND start_ns >= {start}"
            f"  AND start_ns < {int(reference_end_ns)} GROUP BY service, name)"
            f" SELECT {start} + intDiv(t - {start}, {bin_ns}) * {bin_ns} AS b, sum(es), sum(el), sum(root), sum(slow)"
            " FROM (SELECT s.start_ns AS t, toUInt64(s.status = 'ERROR') AS es, toUInt64(0) AS el,"
            "  toUInt64(s.parent_span_id = '') AS root,"
            "  toUInt64(s.parent_span_id = '' AND r.hit = 1 AND s.end_ns - s.start_ns > 2 * r.p95 + 1000000) AS slow"
            f"  FROM {self.spans(window)} AS s LEFT JOIN ref AS r ON r.service = s.service AND r.name = s.name"
            f"  WHERE s.start_ns BETWEEN {start} AND {end}"
            "  UNION ALL SELECT ts_ns, toUInt64(0), toUInt64(level IN ('ERROR', 'FATAL')), toUInt64(0), toUInt64(0)"
            f"  FROM {self.logs(window)} WHERE ts_ns BETWEEN {start} AND {end})"
            " GROUP BY b ORDER BY b"
        )
        return [(int(b), int(es), int(el), int(root), int(slow)) for b, es, el, root, slow in rows]

    def service_timeline(self, window: TimeRange, bin_ns: int) -> list[ServiceBin]:
        start, end, bin_ns = int(window.start_ns), int(window.end_ns), int(bin_ns)
        served = "(parent_span_id = '' OR kind IN ('SERVER', 'CONSUMER'))"
        rows = self.rows(
            f"SELECT service, {start} + intDiv(start_ns - {start}, {bin_ns}) * {bin_ns} AS b, countIf({served}),"
            f" countIf(status = 'ERROR'), {q_if(0.9, '(end_ns - start_ns) / 1e6', served)}"
            f" FROM {self.spans(window)} WHERE service != '' AND start_ns BETWEEN {start} AND {end}"
            " GROUP BY service, b ORDER BY service, b"
        )
        return [ServiceBin(str(r[0]), int(r[1]), int(r[2]), int(r[3]), float(r[4])) for r in rows]

    def error_origins(self, baseline: TimeRange, incident: TimeRange) -> list[ErrorOrigin]:
        base, inc = windows_sql(baseline, incident, "s.start_ns")
        spans, logs = self.spans(baseline, incident), self.logs(baseline, incident)
        # Only the traces holding a failure are read whole; a failing span meets its children in one group (as
        # in `clickhouse_tracequeries`), so it is known whether it has children and whether any of them fails.
        # Only failing spans bring their text into the grouping: the other spans come as children only.
        rows = self.rows(
            "WITH logerr AS (SELECT tk, sk, argMin(body, ts_ns) AS body, max(exception_type) AS exc,"
            f"  1 AS hit FROM {logs} WHERE level IN ('ERROR', 'FATAL') AND span_id != '' GROUP BY tk, sk),"
            " s AS (SELECT s.trace_id AS trace_id, s.tk AS tk, s.sk AS sk, s.pk AS pk,"
            "  s.parent_span_id AS parent_span_id, s.service AS service, s.name AS name, s.kind AS kind,"
            f"  s.peer AS peer, s.start_ns AS start_ns, {inc} AS inc,"
            f"  (s.status = 'ERROR' OR l.hit = 1) AND ({base} OR {inc}) AS failed,"
            "  if(s.status_message != '', s.status_message,"
            "   if(l.hit = 1, leftUTF8(splitByChar('\\n', l.body)[1], 300), '')) AS message,"
            "  if(s.exc != '', s.exc, l.exc) AS exc"
            f"  FROM {spans} AS s LEFT JOIN logerr AS l ON l.tk = s.tk AND l.sk = s.sk"
            f"  WHERE s.tk IN (SELECT tk FROM {spans} WHERE status = 'ERROR' UNION ALL SELECT tk FROM logerr)),"
            " g AS (SELECT anyIf(service, role = 0) AS service,"
            "  anyIf(name, role = 0) AS name, anyIf(kind, role = 0) AS kind, anyIf(peer, role = 0) AS peer,"
            "  anyIf(inc, role = 0) AS inc, anyIf(message, role = 0) AS message, anyIf(exc, role = 0) AS exc,"
            "  anyIf(trace_id, role = 0) AS trace_id, anyIf(start_ns, role = 0) AS start_ns,"
            "  countIf(role = 1) > 0 AS has_children, countIf(role = 1 AND failed) AS failing_children"
            " FROM s ARRAY JOIN [0, 1] AS role WHERE (role = 0 AND failed) OR (role = 1 AND parent_span_id != '')"
            " GROUP BY tk, if(role = 0, sk, pk) HAVING countIf(role = 0) > 0),"
            " w AS (SELECT g.*, sum(if(inc, 0, 1)) OVER (PARTITION BY service, name, kind, peer, exc) AS exc_before"
            "  FROM g WHERE failing_children = 0)"
            " SELECT service, name, kind, peer,"
            "  countIf(inc) > 0 AND countIf(inc AND has_children) * 2 >= countIf(inc),"
            "  countIf(inc), countIf(NOT inc), argMinIf(message, start_ns, inc), argMinIf(exc, start_ns, inc),"
            "  argMinIf(trace_id, start_ns, inc), minIf(start_ns, inc), countIf(inc AND exc != '' AND exc_before = 0)"
            " FROM w GROUP BY service, name, kind, peer"
        )
        return [
            ErrorOrigin(str(r[0]), str(r[1]), str(r[2]), str(r[3]), bool(r[4]), int(r[5]), int(r[6]), str(r[7]),
                        str(r[8]), str(r[9]), int(r[10]), int(r[11]))
            for r in rows
        ]  # fmt: skip

    def self_time_shifts(self, baseline: TimeRange, incident: TimeRange) -> list[SelfTimeShift]:
        return clickhouse_tracequeries.self_time_shifts(self, baseline, incident)

    def edges(self, window: TimeRange) -> list[Edge]:
        return clickhouse_tracequeries.edges(self, window)

    def edge_gaps(self, baseline: TimeRange, incident: TimeRange) -> list[EdgeGap]:
        return clickhouse_tracequeries.edge_gaps(self, baseline, incident)

    def service_volumes(self, baseline: TimeRange, incident: TimeRange) -> list[ServiceVolume]:
        base, inc = windows_sql(baseline, incident, "t")
        spans, logs, metrics = (
            self.spans(baseline, incident),
            self.logs(baseline, incident),
            self.metrics(baseline, incident),
        )
        rows = self.rows(
            "SELECT service,"
            f" countIf(k = 's' AND {base}), countIf(k = 's' AND {inc}), countIf(k = 'l' AND {base}),"
            f" countIf(k = 'l' AND {inc}), countIf(k = 'm' AND {base}), countIf(k = 'm' AND {inc}),"
            f" countIf(k = 'c' AND {base}), countIf(k = 'c' AND {inc}),"
            f" uniqExactIf(tr, tr != 0 AND {base}), uniqExactIf(tr, tr != 0 AND {inc})"
            f" FROM (SELECT service, start_ns AS t, 's' AS k, if(trace_id = '', 0, tk) AS tr FROM {spans}"
            f"  UNION ALL SELECT service, ts_ns, 'l', if(trace_id = '', 0, tk) FROM {logs}"
            f"  UNION ALL SELECT service, ts_ns, 'm', toUInt64(0) FROM {metrics}"
            f"  UNION ALL SELECT peer, start_ns, 'c', toUInt64(0) FROM {spans} WHERE kind IN ('CLIENT', 'PRODUCER'))"
            " WHERE service != '' GROUP BY service HAVING countIf(k != 'c') > 0 ORDER BY service"
        )
        return [ServiceVolume(str(r[0]), *(int(v) for v in r[1:])) for r in rows]

    def metric_shifts(self, baseline: TimeRange, incident: TimeRange) -> list[MetricShift]:
        base, inc = windows_sql(baseline, incident, "ts_ns")
        drop = ", ".join(literal(k) for k in INSTANCE_LABELS)
        # The first minute of a replacement pod's CPU and memory is left out (`series_identity`): `born` holds the
        # pods with another pod of the same service and metric reporting in the minutes before their first point.
        everything = self.metrics(self.window)
        key = "toJSONString(mapSort(labels))"
        rows = self.rows(
            f"WITH firsts AS (SELECT service, name, {key} AS lk, min(ts_ns) AS first FROM {everything}"
            f"  WHERE mapContains(labels, 'pod') AND match(name, {literal(STARTUP_NAMES)}) GROUP BY service, name, lk),"
            " born AS (SELECT DISTINCT f.service AS service, f.name AS name, f.lk AS lk, f.first AS first, 1 AS is_born"
            f"  FROM firsts AS f INNER JOIN (SELECT service, name, {key} AS lk, ts_ns FROM {everything}"
            "   WHERE mapContains(labels, 'pod')) AS p ON p.service = f.service AND p.name = f.name"
            f"  WHERE p.lk != f.lk AND p.ts_ns < f.first AND p.ts_ns >= f.first - {REPLACED_WITHIN_NS}),"
            " m AS (SELECT service, name, labels, ts_ns, avg(value) AS value, any(is_inc) AS inc FROM"
            "  (SELECT mt.service AS service, mt.name AS name,"
            "   toJSONString(mapFilter((k, v) -> k NOT IN (" + drop + "), mt.labels)) AS labels,"
            f"   mt.ts_ns AS ts_ns, mt.value AS value, {inc.replace('ts_ns', 'mt.ts_ns')} AS is_inc"
            f"   FROM {self.metrics(baseline, incident)} AS mt LEFT JOIN born"
            f"   ON born.service = mt.service AND born.name = mt.name AND born.lk = toJSONString(mapSort(mt.labels))"
            f"   WHERE ({base.replace('ts_ns', 'mt.ts_ns')} OR {inc.replace('ts_ns', 'mt.ts_ns')})"
            f"   AND (born.is_born = 0 OR mt.ts_ns >= born.first + {STARTUP_NS}))"
            "  GROUP BY service, name, labels, ts_ns),"
            f" b AS (SELECT service, name, labels, {Q}(0.5)(value) AS med, count() AS n, min(value) AS lo,"
            "  max(value) AS hi FROM m WHERE NOT inc GROUP BY service, name, labels),"
            " d AS (SELECT m.service AS service, m.name AS name, m.labels AS labels,"
            f" {Q}(0.5)(abs(m.value - b.med)) AS mad"
            "  FROM m INNER JOIN b ON b.service = m.service AND b.name = m.name AND b.labels = m.labels"
            "  WHERE NOT m.inc GROUP BY m.service, m.name, m.labels)"
            f" SELECT m.service, m.name, m.labels, b.med, d.mad, b.n, {Q}(0.5)(m.value),"
            "  argMax(m.value, abs(m.value - b.med)), count(), min(m.ts_ns),"
            "  arrayMap(p -> p.2, arraySort(groupArray((m.ts_ns, m.value)))), b.lo, b.hi"
            " FROM m INNER JOIN b ON b.service = m.service AND b.name = m.name AND b.labels = m.labels"
            " INNER JOIN d ON d.service = m.service AND d.name = m.name AND d.labels = m.labels"
            " WHERE m.inc GROUP BY m.service, m.name, m.labels, b.med, d.mad, b.n, b.lo, b.hi"
        )
        return [
            MetricShift(str(r[0]), str(r[1]), str(r[2]), float(r[3]), float(r[4]), int(r[5]), float(r[6]),
                        float(r[7]), int(r[8]), int(r[9]), tuple(float(v) for v in r[10]), float(r[11]),
                        float(r[12]))
            for r in rows
        ]  # fmt: skip

    def entry_stats(self, baseline: TimeRange, incident: TimeRange) -> EntryStats:
        base, inc = windows_sql(baseline, incident, "start_ns")
        ms = "(end_ns - start_ns) / 1e6"
        root_base, root_inc = f"parent_span_id = '' AND {base}", f"parent_span_id = '' AND {inc}"
        row = self.rows(
            f"SELECT if(countIf({base}) > 0, avgIf(status = 'ERROR', {base}), 0),"
            f" if(countIf({inc}) > 0, avgIf(status = 'ERROR', {inc}), 0),"
            f" {q_if(0.95, ms, root_base)}, {q_if(0.95, ms, root_inc)}"
            f" FROM {self.spans(baseline, incident)} WHERE {base} OR {inc}"
        )
        return EntryStats(*(float(v) for v in row[0]))

    def exception_frames(self, service: str, incident: TimeRange, limit: int = 3) -> list[FrameGroup]:
        return exception_frames(self, service, incident, limit)

    def logger_counts(self, service: str, baseline: TimeRange, incident: TimeRange) -> list[LoggerCount]:
        return self.logger_counts_by_service(baseline, incident, service=service).get(service, [])

    def logger_counts_by_service(
        self, baseline: TimeRange, incident: TimeRange, *, service: str | None = None
    ) -> dict[str, list[LoggerCount]]:
        return logger_counts_by_service(self, baseline, incident, service=service)

    def new_statements(
        self, service: str, baseline: TimeRange, incident: TimeRange, *, min_count: int = 3
    ) -> list[tuple[str, str, tuple[str, ...]]]:
        base, inc = windows_sql(baseline, incident, "start_ns")
        rows = self.rows(
            f"WITH c AS (SELECT name, stmt, countIf({inc}) AS n_inc, countIf({base}) AS n_base"
            f"  FROM {self.spans(baseline, incident)} WHERE service = {literal(service)} AND stmt != ''"
            f"  AND ({base} OR {inc}) GROUP BY name, stmt)"
            " SELECT n.name, n.stmt, arraySort(groupUniqArrayIf(b.stmt, b.hit = 1)) FROM c AS n"
            " LEFT JOIN (SELECT name, stmt, 1 AS hit FROM c WHERE n_base > 0) AS b ON b.name = n.name"
            f" WHERE n.n_base = 0 AND n.n_inc >= {int(min_count)} GROUP BY n.name, n.stmt ORDER BY"
            " n.name, n.stmt LIMIT 5"
        )
        return [(str(r[0]), str(r[1]), tuple(str(v) for v in r[2])) for r in rows]

    def log_message_groups(self, baseline: TimeRange, incident: TimeRange) -> list[LogMessageGroup]:
        return log_message_groups(self, baseline, incident)

    def trace_spans(self, trace_id: str, limit: int) -> tuple[list[TraceSpanRow], int]:
        spans = self.schema.spans(self.window.start_ns, self.window.end_ns, trace_id=trace_id)
        rows = self.rows(
            "SELECT span_id, parent_span_id, service, name, start_ns, end_ns, status = 'ERROR', count() OVER ()"
            f" FROM {spans} ORDER BY start_ns, span_id LIMIT {int(limit)}"
        )
        out = [
            TraceSpanRow(str(r[0]), str(r[1] or ""), str(r[2]), str(r[3]), int(r[4]), int(r[5]), bool(r[6]))
            for r in rows
        ]
        return out, int(rows[0][7]) if rows else 0

    def metric_points(self, service: str, name: str, window: TimeRange) -> list[tuple[int, float]]:
        rows = self.rows(
            f"SELECT ts_ns, avg(value) FROM {self.metrics(window)} WHERE service = {literal(service)}"
            f" AND name = {literal(name)} AND ts_ns BETWEEN {int(window.start_ns)} AND {int(window.end_ns)}"
            " GROUP BY ts_ns ORDER BY ts_ns"
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def labelled_series(self, window: TimeRange, names_like: str) -> list[LabelledSeries]:
        rows = self.rows(
            "SELECT service, name, mapKeys(l), mapValues(l), arrayMap(p -> p.1, s), arrayMap(p -> p.2, s) FROM ("
            " SELECT service, name, mapSort(labels) AS l, arraySort(groupArray((ts_ns, value))) AS s"
            f" FROM {self.metrics(window)}"
            f" WHERE service != '' AND ts_ns BETWEEN {int(window.start_ns)} AND {int(window.end_ns)}"
            f" AND match(name, {literal(names_like)}) GROUP BY service, name, l)"
            " ORDER BY service, name"
        )
        series = [
            LabelledSeries(
                str(r[0]),
                str(r[1]),
                tuple(sorted((str(k), str(v)) for k, v in zip(r[2], r[3], strict=True))),
                tuple(int(t) for t in r[4]),
                tuple(float(v) for v in r[5]),
            )
            for r in rows
        ]
        return sorted(series, key=lambda s: (s.service, s.name, s.labels))

    def edge_series(self, window: TimeRange) -> list[EdgeMetricSeries]:
        drop = ", ".join(literal(k) for k in INSTANCE_LABELS)
        callee = ", ".join(literal(k) for k in EDGE_CALLEE_LABELS)
        rows = self.rows(
            "SELECT name, l, arrayMap(p -> p.1, s), arrayMap(p -> p.2, s) FROM ("
            " SELECT name, l, arraySort(groupArray((ts_ns, v))) AS s FROM ("
            "  SELECT name, toJSONString(mapSort(mapFilter((k, v) -> k NOT IN (" + drop + "), labels))) AS l,"
            f"  ts_ns, avg(value) AS v FROM {self.metrics(window)}"
            f"  WHERE ts_ns BETWEEN {int(window.start_ns)} AND {int(window.end_ns)}"
            f"  AND hasAny(mapKeys(labels), [{callee}]) GROUP BY name, l, ts_ns)"
            " GROUP BY name, l) ORDER BY name, l"
        )
        return [
            EdgeMetricSeries(str(r[0]), str(r[1]), tuple(int(t) for t in r[2]), tuple(float(v) for v in r[3]))
            for r in rows
        ]

    def metric_series(self, window: TimeRange, names_like: str) -> list[MetricPoints]:
        rows = self.rows(
            "SELECT service, name, arrayMap(p -> p.1, s), arrayMap(p -> p.2, s) FROM ("
            " SELECT service, name, arraySort(groupArray((ts_ns, v))) AS s FROM ("
            f"  SELECT service, name, ts_ns, avg(value) AS v FROM {self.metrics(window)}"
            f"  WHERE service != '' AND ts_ns BETWEEN {int(window.start_ns)} AND {int(window.end_ns)}"
            f"  AND match(name, {literal(names_like)}) GROUP BY service, name, ts_ns)"
            " GROUP BY service, name) ORDER BY service, name"
        )
        return [
            MetricPoints(str(r[0]), str(r[1]), tuple(int(t) for t in r[2]), tuple(float(v) for v in r[3])) for r in rows
        ]
