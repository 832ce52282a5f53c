"""The questions analyses ask of telemetry (`protocol.TelemetryQueries`), answered by SQL in DuckDB.

Everything heavy (masking, grouping, quantiles, self-time) happens inside the database so no Python
object is created per log line or span. Another backend (ClickHouse) answers the same protocol by pushdown.
"""

from __future__ import annotations

import orjson

from incidentlens.model import Alert, Change, ChangeKind, Severity, TimeRange
from incidentlens.telemetry.logqueries import log_message_groups
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
from incidentlens.telemetry.store import TelemetryStore

PEER_SQL = (
    "coalesce(nullif(json_extract_string(attributes, '$.\"peer.service\"'), ''),"
    " nullif(json_extract_string(attributes, '$.\"db.system\"'), ''),"
    " nullif(json_extract_string(attributes, '$.\"messaging.system\"'), ''),"
    " nullif(json_extract_string(attributes, '$.\"server.address\"'), ''),"
    " nullif(json_extract_string(attributes, '$.\"net.peer.name\"'), ''), '')"
)
# Labels that name one process rather than the series: removed (JSON merge patch with null) before grouping.
_INSTANCE_LABELS_NULL = "{" + ", ".join(f'"{k}": null' for k in INSTANCE_LABELS) + "}"
# A series with one of these labels may be a call edge (`analyze/call_edges.py` decides which pairs).
EDGE_LABELS_REGEX = '"(' + "|".join(EDGE_CALLEE_LABELS) + ')"\\s*:'
_LINKS_TYPE = """'[{"trace_id": "VARCHAR", "span_id": "VARCHAR"}]'"""


class DuckDBQueries:
    """The telemetry questions (`protocol.TelemetryQueries`) answered by SQL over one DuckDB store."""

    def __init__(self, store: TelemetryStore) -> None:
        self.store = store

    def bounds(self) -> Bounds | None:
        row = self.store.rows(
            "SELECT min(t), max(t) FROM (SELECT ts_ns AS t FROM logs UNION ALL SELECT start_ns FROM spans"
            " UNION ALL SELECT ts_ns FROM metrics)"
        )
        if not row or row[0][0] is None:
            return None
        return Bounds(int(row[0][0]), int(row[0][1]))

    def alerts(self) -> list[Alert]:
        rows = self.store.rows(
            "SELECT starts_ns, ends_ns, name, service, severity, status, fingerprint, summary, source, labels"
            " FROM alerts"
            " ORDER BY starts_ns"
        )
        known = set(Severity)
        return [
            Alert(
                name=name,
                starts_ns=starts,
                service=service,
                severity=Severity(severity) if severity in known else Severity.UNKNOWN,
                summary=summary,
                fingerprint=fingerprint,
                source=source,
                ends_ns=ends,
                status=status,
                labels=alert_details(labels),
            )
            for starts, ends, name, service, severity, status, fingerprint, summary, source, labels in rows
        ]

    def services_by_signal(self) -> dict[str, set[str]]:
        rows = self.store.rows(
            "SELECT DISTINCT 'logs', service FROM logs WHERE service <> ''"
            " UNION SELECT DISTINCT 'spans', service FROM spans WHERE service <> ''"
            " UNION SELECT DISTINCT 'metrics', service FROM metrics WHERE service <> ''"
        )
        out: dict[str, set[str]] = {}
        for table, service in rows:
            out.setdefault(table, set()).add(service)
        return out

    def changes(self, window: TimeRange) -> list[Change]:
        rows = self.store.rows(
            'SELECT ts_ns, service, kind, description, author, "commit", previous, current, source,'
            " CASE WHEN attributes LIKE '{%' THEN coalesce(json_extract_string(attributes, '$.pod'), '') ELSE '' END"
            " FROM changes WHERE ts_ns BETWEEN ? AND ? ORDER BY ts_ns",
            [window.start_ns, window.end_ns],
        )
        known = set(ChangeKind)
        return [
            Change(
                kind=ChangeKind(kind) if kind in known else ChangeKind.DEPLOY,
                ts_ns=ts,
                service=service,
                description=description,
                author=author,
                commit=commit,
                previous=previous,
                current=current,
                source=source,
                pod=pod,
            )
            for ts, service, kind, description, author, commit, previous, current, source, pod in rows
        ]

    def error_timeline(
        self, window: TimeRange, bin_ns: int, *, reference_end_ns: int
    ) -> list[tuple[int, int, int, int, int]]:
        """Per time bin: (start, error spans, error logs, entry spans, slow entry spans), for onset detection.

        An entry (root) span is slow when it takes over twice its operation's p95 before `reference_end_ns`:
        per-operation references keep a mix of fast and slow endpoints from looking like a shift.
        """
        return self.store.rows(
            "WITH ref AS (SELECT service, name, quantile_cont(end_ns - start_ns, 0.95) AS p95 FROM spans"
            "  WHERE parent_span_id = '' AND start_ns >= $1 AND start_ns < $4 GROUP BY service, name),"
            " e AS ("
            " SELECT s.start_ns AS t, CASE WHEN s.status = 'ERROR' THEN 1 ELSE 0 END AS es, 0 AS el,"
            "  CASE WHEN s.parent_span_id = '' THEN 1 ELSE 0 END AS root,"
            "  CASE WHEN s.parent_span_id = '' AND s.end_ns - s.start_ns > 2 * ref.p95 + 1000000 THEN 1 ELSE 0 END"
            "  AS slow FROM spans s LEFT JOIN ref USING (service, name)"
            " WHERE s.start_ns BETWEEN $1 AND $2"
            " UNION ALL SELECT ts_ns, 0, CASE WHEN level IN ('ERROR', 'FATAL') THEN 1 ELSE 0 END, 0, 0 FROM logs"
            " WHERE ts_ns BETWEEN $1 AND $2)"
            " SELECT $1 + (t - $1) // $3 * $3 AS b, sum(es), sum(el), sum(root), sum(slow)"
            " FROM e GROUP BY b ORDER BY b",
            [window.start_ns, window.end_ns, bin_ns, reference_end_ns],
        )

    def service_timeline(self, window: TimeRange, bin_ns: int) -> list[ServiceBin]:
        rows = self.store.rows(
            "SELECT service, $1 + (start_ns - $1) // $3 * $3 AS b,"
            " count(*) FILTER (WHERE " + _SERVED + "),"
            " count(*) FILTER (WHERE status = 'ERROR'),"
            " coalesce(quantile_cont((end_ns - start_ns) / 1e6, 0.9) FILTER (WHERE " + _SERVED + "), 0)"
            " FROM spans WHERE service <> '' AND start_ns BETWEEN $1 AND $2 GROUP BY service, b ORDER BY service, b",
            [window.start_ns, window.end_ns, bin_ns],
        )
        return [ServiceBin(r[0], int(r[1]), int(r[2]), int(r[3]), float(r[4])) for r in rows]

    def error_origins(self, baseline: TimeRange, incident: TimeRange) -> list[ErrorOrigin]:
        """Failing spans with no failing child, grouped by service, operation, kind and peer.

        A span fails when its status says so or when an ERROR/FATAL log was written inside it (same trace
        and span id): many tracers record no status, but the logs of a failing request still carry its ids.
        """
        rows = self.store.rows(
            "WITH logerr AS (SELECT trace_id, span_id, arg_min(body, ts_ns) AS body,"
            "  coalesce(nullif(max(exception_type), ''), '') AS exc FROM logs"
            "  WHERE level IN ('ERROR', 'FATAL') AND span_id <> ''"
            "  AND ts_ns >= least($1, $3) AND ts_ns <= greatest($2, $4) GROUP BY trace_id, span_id),"
            " e AS (SELECT s.*, " + PEER_SQL + " AS peer, (s.start_ns >= $3 AND s.start_ns <= $4) AS inc,"
            "  coalesce(nullif(s.status_message, ''), left(split_part(l.body, chr(10), 1), 300), '') AS message,"
            "  coalesce(nullif(json_extract_string(s.attributes, '$.\"exception.type\"'), ''), l.exc, '') AS exc"
            "  FROM spans s LEFT JOIN logerr l ON l.trace_id = s.trace_id AND l.span_id = s.span_id"
            "  WHERE (s.status = 'ERROR' OR l.span_id IS NOT NULL)"
            "  AND ((s.start_ns >= $1 AND s.start_ns < $2) OR (s.start_ns >= $3 AND s.start_ns <= $4))),"
            " kids AS (SELECT DISTINCT trace_id, parent_span_id FROM spans WHERE parent_span_id <> ''"
            "  AND start_ns >= least($1, $3) AND start_ns <= greatest($2, $4)),"
            " ekids AS (SELECT DISTINCT trace_id, parent_span_id FROM e WHERE parent_span_id <> ''),"
            " o AS (SELECT e.*, k.trace_id IS NOT NULL AS has_children FROM e"
            "  LEFT JOIN ekids x ON x.trace_id = e.trace_id AND x.parent_span_id = e.span_id"
            "  LEFT JOIN kids k ON k.trace_id = e.trace_id AND k.parent_span_id = e.span_id"
            "  WHERE x.trace_id IS NULL),"
            # How often the normal period failed with the same exception type in the same place.
            " w AS (SELECT o.*, sum(CASE WHEN inc THEN 0 ELSE 1 END)"
            "  OVER (PARTITION BY service, name, kind, peer, exc) AS exc_before FROM o)"
            " SELECT service, name, kind, peer,"
            "  coalesce(avg(CASE WHEN has_children THEN 1.0 ELSE 0.0 END) FILTER (WHERE inc), 0) >= 0.5,"
            "  count(*) FILTER (WHERE inc),"
            "  count(*) FILTER (WHERE NOT inc), coalesce(any_value(message) FILTER (WHERE inc), ''),"
            "  coalesce(any_value(exc) FILTER (WHERE inc), ''),"
            "  coalesce(min_by(trace_id, start_ns) FILTER (WHERE inc), ''),"
            "  coalesce(min(start_ns) FILTER (WHERE inc), 0),"
            "  count(*) FILTER (WHERE inc AND exc <> '' AND exc_before = 0)"
            " FROM w GROUP BY service, name, kind, peer",
            [baseline.start_ns, baseline.end_ns, incident.start_ns, incident.end_ns],
        )
        return [ErrorOrigin(*r) for r in rows]

    def self_time_shifts(self, baseline: TimeRange, incident: TimeRange) -> list[SelfTimeShift]:
        rows = self.store.rows(
            "WITH s AS (SELECT trace_id, span_id, parent_span_id, service, name, kind, start_ns,"
            "  end_ns - start_ns AS dur, "
            + PEER_SQL
            + " AS peer, (start_ns >= $3 AND start_ns <= $4) AS inc FROM spans"
            "  WHERE (start_ns >= $1 AND start_ns < $2) OR (start_ns >= $3 AND start_ns <= $4)),"
            " c AS (SELECT trace_id, parent_span_id AS pid, sum(dur) AS child_dur,"
            "  bool_or(kind IN ('SERVER', 'CONSUMER')) AS server_child,"
            "  min(service) AS child_service, count(DISTINCT service) AS child_services FROM s GROUP BY 1, 2),"
            # A span without a kind whose children all run in one other service is a call to it.
            " j AS (SELECT s.*, c.child_dur, c.server_child, c.child_service,"
            "  coalesce(s.kind IN ('UNSPECIFIED', '') AND c.child_services = 1 AND c.child_service <> s.service,"
            "   false) AS calls_other FROM s LEFT JOIN c ON c.trace_id = s.trace_id AND c.pid = s.span_id),"
            " t AS (SELECT j.* EXCLUDE (peer, server_child),"
            "  greatest(dur - coalesce(child_dur, 0), 0) / 1e6 AS self_ms,"
            "  CASE WHEN peer = '' AND calls_other THEN child_service ELSE peer END AS peer,"
            "  coalesce(server_child, false) OR calls_other AS server_child FROM j)"
            " SELECT service, name, kind, peer, bool_or(server_child),"
            "  coalesce(quantile_cont(self_ms, 0.5) FILTER (WHERE NOT inc), 0),"
            "  coalesce(quantile_cont(self_ms, 0.9) FILTER (WHERE NOT inc), 0),"
            "  coalesce(quantile_cont(self_ms, 0.5) FILTER (WHERE inc), 0),"
            "  coalesce(quantile_cont(self_ms, 0.9) FILTER (WHERE inc), 0),"
            "  count(*) FILTER (WHERE NOT inc), count(*) FILTER (WHERE inc),"
            "  coalesce(arg_max(trace_id, self_ms) FILTER (WHERE inc), '')"
            " FROM t GROUP BY service, name, kind, peer",
            [baseline.start_ns, baseline.end_ns, incident.start_ns, incident.end_ns],
        )
        return [SelfTimeShift(*r) for r in rows]

    def service_volumes(self, baseline: TimeRange, incident: TimeRange) -> list[ServiceVolume]:
        """Per service: spans, logs and metric points it emitted, and client calls other services made to it."""
        rows = self.store.rows(
            "WITH v AS ("
            " SELECT service, start_ns AS t, 's' AS k, trace_id AS tr FROM spans UNION ALL"
            " SELECT service, ts_ns, 'l', trace_id FROM logs UNION ALL SELECT service, ts_ns, 'm', '' FROM metrics"
            " UNION ALL SELECT " + PEER_SQL + ", start_ns, 'c', '' FROM spans WHERE kind IN ('CLIENT', 'PRODUCER')),"
            # Distinct traces as a grouping of their own (it spills to disk; count(DISTINCT) per group did not)
            " d AS (SELECT service, count(*) FILTER (WHERE NOT w) AS nb, count(*) FILTER (WHERE w) AS ni FROM ("
            "  SELECT DISTINCT service, tr, false AS w FROM v WHERE tr <> '' AND t >= $1 AND t < $2 UNION ALL"
            "  SELECT DISTINCT service, tr, true FROM v WHERE tr <> '' AND t >= $3 AND t <= $4) GROUP BY service)"
            " SELECT service,"
            "  count(*) FILTER (WHERE k = 's' AND t >= $1 AND t < $2),"
            "  count(*) FILTER (WHERE k = 's' AND t >= $3 AND t <= $4),"
            "  count(*) FILTER (WHERE k = 'l' AND t >= $1 AND t < $2),"
            "  count(*) FILTER (WHERE k = 'l' AND t >= $3 AND t <= $4),"
            "  count(*) FILTER (WHERE k = 'm' AND t >= $1 AND t < $2),"
            "  count(*) FILTER (WHERE k = 'm' AND t >= $3 AND t <= $4),"
            "  count(*) FILTER (WHERE k = 'c' AND t >= $1 AND t < $2),"
            "  count(*) FILTER (WHERE k = 'c' AND t >= $3 AND t <= $4),"
            "  coalesce(any_value(d.nb), 0), coalesce(any_value(d.ni), 0)"
            " FROM v LEFT JOIN d USING (service) WHERE service <> '' GROUP BY service"
            " HAVING count(*) FILTER (WHERE k <> 'c') > 0 ORDER BY service",
            [baseline.start_ns, baseline.end_ns, incident.start_ns, incident.end_ns],
        )
        return [ServiceVolume(*r) for r in rows]

    def metric_shifts(self, baseline: TimeRange, incident: TimeRange) -> list[MetricShift]:
        """Per series: baseline median and MAD against incident values.

        A series is a service's metric with its labels minus the instance identity (pod, instance, ...):
        a deploy or restart renames pods, and replicas of one service share one series (their mean). The first
        minute of CPU and memory of a pod that replaced or joined others of its service (one of them reported in the
        two minutes before it) is left out: a starting process's burst and warm-up are no load.
        """
        rows = self.store.rows(
            "WITH firsts AS (SELECT service, name, labels, min(ts_ns) AS first FROM metrics"
            "  WHERE labels LIKE '{%\"pod\"%' AND regexp_matches(name, '" + STARTUP_NAMES + "') GROUP BY ALL),"
            # A replacement: another pod of the service reported the same metric in the minutes before it.
            " born AS (SELECT f.service, f.name, f.labels, f.first FROM firsts f WHERE EXISTS (SELECT 1 FROM firsts o"
            "  JOIN metrics p ON p.service = o.service AND p.name = o.name AND p.labels = o.labels"
            "  WHERE o.service = f.service AND o.name = f.name AND o.labels <> f.labels AND o.first < f.first"
            "  AND p.ts_ns < f.first AND p.ts_ns >= f.first - " + str(REPLACED_WITHIN_NS) + ")),"
            " raw AS (SELECT mt.service, mt.name,"
            "  CASE WHEN mt.labels LIKE '{%' THEN json_merge_patch(mt.labels, '" + _INSTANCE_LABELS_NULL + "')::VARCHAR"
            "  ELSE mt.labels END AS labels, mt.ts_ns, mt.value FROM metrics mt"
            "  LEFT JOIN born ON born.service = mt.service AND born.name = mt.name AND born.labels = mt.labels"
            "  WHERE mt.value IS NOT NULL AND isfinite(mt.value)"
            "  AND (born.first IS NULL OR mt.ts_ns >= born.first + " + str(STARTUP_NS) + ")"
            "  AND ((mt.ts_ns >= $1 AND mt.ts_ns < $2) OR (mt.ts_ns >= $3 AND mt.ts_ns <= $4))),"
            " m AS (SELECT service, name, labels, ts_ns, avg(value) AS value,"
            "  (ts_ns >= $3 AND ts_ns <= $4) AS inc FROM raw"
            "  GROUP BY service, name, labels, ts_ns),"
            " b AS (SELECT service, name, labels, median(value) AS med, count(*) AS n,"
            "  min(value) AS lo, max(value) AS hi FROM m WHERE NOT inc"
            "  GROUP BY ALL),"
            " d AS (SELECT m.service, m.name, m.labels, median(abs(m.value - b.med)) AS mad FROM m"
            "  JOIN b USING (service, name, labels) WHERE NOT m.inc GROUP BY ALL)"
            " SELECT m.service, m.name, m.labels, b.med, d.mad, b.n, median(m.value),"
            "  arg_max(m.value, abs(m.value - b.med)), count(*), min(m.ts_ns),"
            "  list(m.value ORDER BY m.ts_ns), b.lo, b.hi"
            " FROM m JOIN b USING (service, name, labels) JOIN d USING (service, name, labels)"
            " WHERE m.inc GROUP BY m.service, m.name, m.labels, b.med, d.mad, b.n, b.lo, b.hi",
            [baseline.start_ns, baseline.end_ns, incident.start_ns, incident.end_ns],
        )
        return [
            MetricShift(
                r[0],
                r[1],
                r[2],
                float(r[3]),
                float(r[4]),
                int(r[5]),
                float(r[6]),
                float(r[7]),
                int(r[8]),
                int(r[9]),
                tuple(float(v) for v in r[10]),
                float(r[11]),
                float(r[12]),
            )
            for r in rows
        ]

    def edges(self, window: TimeRange) -> list[Edge]:
        """Service calls: parent/child across services, client spans to uninstrumented peers, messaging links."""
        rows = self.store.rows(
            "WITH s AS (SELECT * FROM spans WHERE start_ns >= $1 AND start_ns <= $2),"
            " pc AS (SELECT p.service AS caller, c.service AS callee, count(*) AS calls,"
            "  count(*) FILTER (WHERE c.status = 'ERROR') AS errors, 'span' AS via FROM s c"
            "  JOIN s p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id AND p.service <> c.service"
            "  GROUP BY 1, 2),"
            " peer AS (SELECT service AS caller, " + PEER_SQL + " AS callee, count(*) AS calls,"
            "  count(*) FILTER (WHERE status = 'ERROR') AS errors, 'peer' AS via FROM s"
            "  WHERE kind IN ('CLIENT', 'PRODUCER') GROUP BY 1, 2),"
            " lk AS (SELECT p.service AS caller, c.service AS callee, count(*) AS calls,"
            "  count(*) FILTER (WHERE c.status = 'ERROR') AS errors, 'link' AS via"
            "  FROM (SELECT service, status, unnest(from_json(links, " + _LINKS_TYPE + ")) AS l"
            "   FROM s WHERE links <> '' AND links <> '[]') c"
            "  JOIN spans p ON p.trace_id = c.l.trace_id AND p.span_id = c.l.span_id AND p.service <> c.service"
            "  GROUP BY 1, 2)"
            " SELECT * FROM pc UNION ALL SELECT * FROM peer WHERE callee <> '' AND callee <> caller"
            " UNION ALL SELECT * FROM lk",
            [window.start_ns, window.end_ns],
        )
        return [Edge(*r) for r in rows]

    def entry_stats(self, baseline: TimeRange, incident: TimeRange) -> EntryStats:
        """Error rate over all spans and p95 latency of root (entry) spans, before and during."""
        row = self.store.rows(
            "SELECT coalesce(avg(CASE WHEN status = 'ERROR' THEN 1.0 ELSE 0.0 END)"
            "  FILTER (WHERE start_ns >= $1 AND start_ns < $2), 0),"
            " coalesce(avg(CASE WHEN status = 'ERROR' THEN 1.0 ELSE 0.0 END)"
            "  FILTER (WHERE start_ns >= $3 AND start_ns <= $4), 0),"
            " coalesce(quantile_cont((end_ns - start_ns) / 1e6, 0.95)"
            "  FILTER (WHERE parent_span_id = '' AND start_ns >= $1 AND start_ns < $2), 0),"
            " coalesce(quantile_cont((end_ns - start_ns) / 1e6, 0.95)"
            "  FILTER (WHERE parent_span_id = '' AND start_ns >= $3 AND start_ns <= $4), 0)"
            " FROM spans WHERE (start_ns >= $1 AND start_ns < $2) OR (start_ns >= $3 AND start_ns <= $4)",
            [baseline.start_ns, baseline.end_ns, incident.start_ns, incident.end_ns],
        )
        return EntryStats(*(float(v) for v in row[0]))

    def exception_frames(self, service: str, incident: TimeRange, limit: int = 3) -> list[FrameGroup]:
        """The most frequent stack traces a service logged during the incident."""
        rows = self.store.rows(
            "SELECT frames, any_value(exception_type), count(*), any_value(body) FROM logs"
            " WHERE service = $1 AND frames <> '' AND frames <> '[]' AND ts_ns >= $2 AND ts_ns <= $3"
            " GROUP BY frames ORDER BY count(*) DESC, frames LIMIT $4",
            [service, incident.start_ns, incident.end_ns, limit],
        )
        return [FrameGroup(*r) for r in rows]

    def logger_counts(self, service: str, baseline: TimeRange, incident: TimeRange) -> list[LoggerCount]:
        """Per log statement of one service: lines written in the normal and the incident window."""
        return self.logger_counts_by_service(baseline, incident, service=service).get(service, [])

    def logger_counts_by_service(
        self, baseline: TimeRange, incident: TimeRange, *, service: str | None = None
    ) -> dict[str, list[LoggerCount]]:
        """Per service and log statement (one query for every service, or for one when `service` is given)."""
        rows = self.store.rows(
            "SELECT service, logger, max(level), count(*) FILTER (WHERE ts_ns >= $2 AND ts_ns < $3),"
            " count(*) FILTER (WHERE ts_ns >= $4 AND ts_ns <= $5), arg_min(left(body, 300), ts_ns)"
            " FROM logs WHERE ($1 IS NULL OR service = $1) AND service <> '' AND logger <> ''"
            " AND ((ts_ns >= $2 AND ts_ns < $3) OR (ts_ns >= $4 AND ts_ns <= $5)) GROUP BY service, logger"
            " ORDER BY service, logger",
            [service, baseline.start_ns, baseline.end_ns, incident.start_ns, incident.end_ns],
        )
        counts: dict[str, list[LoggerCount]] = {}
        for r in rows:
            counts.setdefault(r[0], []).append(LoggerCount(*r[1:]))
        return counts

    def new_statements(
        self, service: str, baseline: TimeRange, incident: TimeRange, *, min_count: int = 3
    ) -> list[tuple[str, str, tuple[str, ...]]]:
        """(operation, statement, earlier statements of that operation) for db statements first seen in the incident."""
        rows = self.store.rows(
            "WITH s AS (SELECT name, json_extract_string(attributes, '$.\"db.statement\"') AS stmt,"
            "  (start_ns >= $4 AND start_ns <= $5) AS inc FROM spans WHERE service = $1"
            "  AND ((start_ns >= $2 AND start_ns < $3) OR (start_ns >= $4 AND start_ns <= $5))),"
            " c AS (SELECT name, stmt, count(*) FILTER (WHERE inc) AS n_inc, count(*) FILTER (WHERE NOT inc) AS n_base"
            "  FROM s WHERE stmt IS NOT NULL AND stmt <> '' GROUP BY name, stmt)"
            " SELECT n.name, n.stmt, list(DISTINCT b.stmt) FILTER (WHERE b.stmt IS NOT NULL)"
            " FROM c n LEFT JOIN c b ON b.name = n.name AND b.n_base > 0"
            " WHERE n.n_base = 0 AND n.n_inc >= $6 GROUP BY n.name, n.stmt ORDER BY n.name, n.stmt LIMIT 5",
            [service, baseline.start_ns, baseline.end_ns, incident.start_ns, incident.end_ns, min_count],
        )
        return [(r[0], r[1], tuple(r[2] or ())) for r in rows]

    def edge_gaps(self, baseline: TimeRange, incident: TimeRange) -> list[EdgeGap]:
        """Per caller -> callee pair: parent span duration minus the child's, before and during the incident."""
        rows = self.store.rows(
            "WITH s AS (SELECT trace_id, span_id, parent_span_id, service, end_ns - start_ns AS dur,"
            "  (start_ns >= $3 AND start_ns <= $4) AS inc FROM spans"
            "  WHERE (start_ns >= $1 AND start_ns < $2) OR (start_ns >= $3 AND start_ns <= $4)),"
            " e AS (SELECT p.service AS caller, c.service AS callee, p.inc, p.trace_id,"
            "  greatest(p.dur - c.dur, 0) / 1e6 AS gap FROM s p JOIN s c"
            "  ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id AND c.service <> p.service"
            "  WHERE p.service <> '' AND c.service <> '')"
            " SELECT caller, callee, coalesce(quantile_cont(gap, 0.5) FILTER (WHERE NOT inc), 0),"
            "  coalesce(quantile_cont(gap, 0.9) FILTER (WHERE NOT inc), 0),"
            "  coalesce(quantile_cont(gap, 0.5) FILTER (WHERE inc), 0),"
            "  count(*) FILTER (WHERE NOT inc), count(*) FILTER (WHERE inc),"
            "  coalesce(arg_max(trace_id, gap) FILTER (WHERE inc), '')"
            " FROM e GROUP BY caller, callee ORDER BY caller, callee",
            [baseline.start_ns, baseline.end_ns, incident.start_ns, incident.end_ns],
        )
        return [EdgeGap(*r) for r in rows]

    def log_message_groups(self, baseline: TimeRange, incident: TimeRange) -> list[LogMessageGroup]:
        return log_message_groups(self.store, baseline, incident)

    def trace_spans(self, trace_id: str, limit: int) -> tuple[list[TraceSpanRow], int]:
        """The first `limit` spans of one trace by start time, and how many it has."""
        rows = self.store.rows(
            "SELECT span_id, parent_span_id, service, name, start_ns, end_ns, status = 'ERROR',"
            " count(*) OVER () FROM spans WHERE trace_id = $1 ORDER BY start_ns, span_id LIMIT $2",
            [trace_id, limit],
        )
        spans = [TraceSpanRow(r[0], r[1] or "", r[2], r[3], int(r[4]), int(r[5]), bool(r[6])) for r in rows]
        return spans, int(rows[0][7]) if rows else 0

    def metric_points(self, service: str, name: str, window: TimeRange) -> list[tuple[int, float]]:
        """(ts, mean over the service's series of that name) inside `window`, in time order."""
        rows = self.store.rows(
            "SELECT ts_ns, avg(value) FROM metrics WHERE service = $1 AND name = $2 AND value IS NOT NULL"
            " AND isfinite(value) AND ts_ns BETWEEN $3 AND $4 GROUP BY ts_ns ORDER BY ts_ns",
            [service, name, window.start_ns, window.end_ns],
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def labelled_series(self, window: TimeRange, names_like: str) -> list[LabelledSeries]:
        """Every series whose name matches the regex `names_like`, one per label set (replicas kept apart)."""
        rows = self.store.rows(
            "SELECT service, name, labels, list(ts_ns ORDER BY ts_ns), list(value ORDER BY ts_ns) FROM metrics"
            " WHERE service <> '' AND value IS NOT NULL AND isfinite(value) AND ts_ns BETWEEN $1 AND $2"
            " AND regexp_matches(name, $3) GROUP BY service, name, labels ORDER BY service, name, labels",
            [window.start_ns, window.end_ns, names_like],
        )
        return [
            LabelledSeries(r[0], r[1], _label_pairs(r[2]), tuple(int(t) for t in r[3]), tuple(float(v) for v in r[4]))
            for r in rows
        ]

    def metric_series(self, window: TimeRange, names_like: str) -> list[MetricPoints]:
        rows = self.store.rows(
            "WITH p AS (SELECT service, name, ts_ns, avg(value) AS v FROM metrics"
            "  WHERE service <> '' AND value IS NOT NULL AND isfinite(value) AND ts_ns BETWEEN $1 AND $2"
            "  AND regexp_matches(name, $3) GROUP BY service, name, ts_ns)"
            " SELECT service, name, list(ts_ns ORDER BY ts_ns), list(v ORDER BY ts_ns) FROM p"
            " GROUP BY service, name ORDER BY service, name",
            [window.start_ns, window.end_ns, names_like],
        )
        return [MetricPoints(r[0], r[1], tuple(int(t) for t in r[2]), tuple(float(v) for v in r[3])) for r in rows]

    def edge_series(self, window: TimeRange) -> list[EdgeMetricSeries]:
        rows = self.store.rows(
            "WITH raw AS (SELECT name, json_merge_patch(labels, '" + _INSTANCE_LABELS_NULL + "')::VARCHAR AS labels,"
            "  ts_ns, value FROM metrics WHERE value IS NOT NULL AND isfinite(value) AND ts_ns BETWEEN $1 AND $2"
            "  AND labels LIKE '{%' AND regexp_matches(labels, $3)),"
            " p AS (SELECT name, labels, ts_ns, avg(value) AS v FROM raw GROUP BY ALL)"
            " SELECT name, labels, list(ts_ns ORDER BY ts_ns), list(v ORDER BY ts_ns) FROM p"
            " GROUP BY name, labels ORDER BY name, labels",
            [window.start_ns, window.end_ns, EDGE_LABELS_REGEX],
        )
        return [EdgeMetricSeries(r[0], r[1], tuple(int(t) for t in r[2]), tuple(float(v) for v in r[3])) for r in rows]


# A span that served a request: an entry span, or the server/consumer side of a call.
_SERVED = "(parent_span_id = '' OR kind IN ('SERVER', 'CONSUMER'))"


def _label_pairs(raw: str | None) -> tuple[tuple[str, str], ...]:
    """A stored labels JSON object as sorted (name, value) pairs; anything else holds no labels."""
    if not raw or not raw.startswith("{"):
        return ()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ()
    if not isinstance(data, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in data.items() if isinstance(v, str | int | float)))


def alert_details(raw: str | None) -> dict[str, str]:
    """An alert's stored labels JSON, flattened: its labels, then its annotations (runbook_url, dashboard,
    description, ...) and top-level strings such as `generatorURL`, so a brief can link to them."""
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    flat: dict[str, str] = {}
    for part in ("labels", "annotations"):
        section = data.get(part)
        if isinstance(section, dict):
            flat.update({str(k): str(v) for k, v in section.items() if isinstance(v, str | int | float)})
    flat.update({str(k): v for k, v in data.items() if isinstance(v, str) and v})
    return flat
