"""Parent/child questions pushed down to ClickHouse: self time, call gaps and the call graph.

A span and its children meet in one group instead of a self-join (`_FAMILY`): ClickHouse can spill a grouping
to disk, not a hash join, and these are the questions whose state grows with the spans of the window. Past
`ClickHouseQueries.max_family_spans` they read a deterministic sample of whole traces, counts scaled up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentlens.model import TimeRange
from incidentlens.telemetry.clickhouse_sql import q_if, windows_sql
from incidentlens.telemetry.rows import Edge, EdgeGap, SelfTimeShift

if TYPE_CHECKING:
    from incidentlens.telemetry.clickhouse_queries import ClickHouseQueries

# Parent and children meet in one group instead of a self-join (a grouping spills to disk, a hash join does
# not): every span is a row as itself (role 0, keyed by its own id) and as a child (role 1, keyed by its
# parent's id). `_NODE` keeps groups that have their span; the span's own columns come from role 0.
_FAMILY = (
    "s ARRAY JOIN [0, 1] AS role WHERE role = 0 OR parent_span_id != ''"
    " GROUP BY tk, if(role = 0, sk, pk) HAVING countIf(role = 0) > 0"
)
_NODE = "anyIf(service, role = 0) AS n_service"


def self_time_shifts(q: ClickHouseQueries, baseline: TimeRange, incident: TimeRange) -> list[SelfTimeShift]:
    base, inc = windows_sql(baseline, incident, "start_ns")
    rows = q.rows(
        "WITH s AS (SELECT trace_id, tk, sk, pk, parent_span_id, service, name, kind, end_ns - start_ns AS dur,"
        f"  peer, {inc} AS inc FROM {q.family_spans(baseline, incident)} WHERE {base} OR {inc}),"
        " g AS (SELECT " + _NODE + ", anyIf(name, role = 0) AS n_name, anyIf(kind, role = 0) AS n_kind,"
        "  anyIf(peer, role = 0) AS n_peer, anyIf(inc, role = 0) AS n_inc, anyIf(dur, role = 0) AS n_dur,"
        "  anyIf(trace_id, role = 0) AS n_trace, countIf(role = 1) AS kids, sumIf(dur, role = 1) AS child_dur,"
        "  maxIf(kind IN ('SERVER', 'CONSUMER'), role = 1) AS server_kid, minIf(service, role ="
        " 1) AS child_service,"
        "  maxIf(service, role = 1) AS child_service_max FROM " + _FAMILY + "),"
        " t AS (SELECT n_service AS service, n_name AS name, n_kind AS kind, n_inc AS inc, n_trace AS trace_id,"
        "  greatest(n_dur - child_dur, 0) / 1e6 AS self_ms, kids > 0 AND n_kind IN ('UNSPECIFIED', '')"
        "  AND child_service = child_service_max AND child_service != n_service AS calls_other,"
        "  if(n_peer = '' AND calls_other, child_service, n_peer) AS peer_to,"
        "  (kids > 0 AND server_kid = 1) OR calls_other AS server_child FROM g)"
        " SELECT service, name, kind, peer_to, max(server_child),"
        f"  {q_if(0.5, 'self_ms', 'NOT inc')}, {q_if(0.9, 'self_ms', 'NOT inc')},"
        f"  {q_if(0.5, 'self_ms', 'inc')}, {q_if(0.9, 'self_ms', 'inc')},"
        "  countIf(NOT inc), countIf(inc), argMaxIf(trace_id, self_ms, inc)"
        " FROM t GROUP BY service, name, kind, peer_to"
    )
    return [
        SelfTimeShift(str(r[0]), str(r[1]), str(r[2]), str(r[3]), bool(r[4]), float(r[5]), float(r[6]),
                      float(r[7]), float(r[8]), q.scaled(r[9]), q.scaled(r[10]), str(r[11]))
        for r in rows
    ]  # fmt: skip


def edges(q: ClickHouseQueries, window: TimeRange) -> list[Edge]:
    lo, hi = int(window.start_ns), int(window.end_ns)
    s = f"(SELECT * FROM {q.family_spans(window)} WHERE start_ns >= {lo} AND start_ns <= {hi})"
    rows = q.rows(
        f"WITH s AS {s},"
        " g AS (SELECT " + _NODE + ", groupArrayIf((service, status = 'ERROR'), role = 1) AS kin FROM " + _FAMILY + "),"
        " pc AS (SELECT n_service AS caller, k.1 AS callee, count() AS calls, countIf(k.2) AS errors, 'span' AS via"
        "  FROM g ARRAY JOIN kin AS k WHERE k.1 != n_service GROUP BY caller, callee),"
        " pe AS (SELECT service AS caller, peer AS callee, count() AS calls, countIf(status = 'ERROR') AS errors,"
        "  'peer' AS via FROM s WHERE kind IN ('CLIENT', 'PRODUCER') GROUP BY caller, callee),"
        " lk AS (SELECT p.service AS caller, c.service AS callee, count() AS calls,"
        "  countIf(c.status = 'ERROR') AS errors, 'link' AS via"
        f"  FROM {q.spans(q.window)} AS p INNER JOIN"
        "  (SELECT service, status, lt, ls FROM s ARRAY JOIN link_traces AS lt, link_spans AS ls) AS c"
        "  ON p.tk = c.lt AND p.sk = c.ls WHERE p.service != c.service GROUP BY caller, callee)"
        " SELECT * FROM pc UNION ALL SELECT * FROM pe WHERE callee != '' AND callee != caller"
        " UNION ALL SELECT * FROM lk"
    )
    return [Edge(str(r[0]), str(r[1]), q.scaled(r[2]), q.scaled(r[3]), str(r[4])) for r in rows]


def edge_gaps(q: ClickHouseQueries, baseline: TimeRange, incident: TimeRange) -> list[EdgeGap]:
    base, inc = windows_sql(baseline, incident, "start_ns")
    rows = q.rows(
        "WITH s AS (SELECT trace_id, tk, sk, pk, parent_span_id, service, end_ns - start_ns AS dur,"
        f"  {inc} AS inc FROM {q.family_spans(baseline, incident)} WHERE {base} OR {inc}),"
        " g AS (SELECT " + _NODE + ", anyIf(inc, role = 0) AS n_inc, anyIf(dur, role = 0) AS n_dur,"
        "  anyIf(trace_id, role = 0) AS n_trace, groupArrayIf((service, dur), role = 1) AS kin FROM " + _FAMILY + "),"
        " e AS (SELECT n_service AS caller, k.1 AS callee, n_inc AS inc, n_trace AS trace_id,"
        "  greatest(n_dur - k.2, 0) / 1e6 AS gap FROM g ARRAY JOIN kin AS k"
        "  WHERE k.1 != n_service AND n_service != '' AND k.1 != '')"
        f" SELECT caller, callee, {q_if(0.5, 'gap', 'NOT inc')}, {q_if(0.9, 'gap', 'NOT inc')},"
        f"  {q_if(0.5, 'gap', 'inc')}, countIf(NOT inc), countIf(inc), argMaxIf(trace_id, gap, inc)"
        " FROM e GROUP BY caller, callee ORDER BY caller, callee"
    )
    return [
        EdgeGap(
            str(r[0]),
            str(r[1]),
            float(r[2]),
            float(r[3]),
            float(r[4]),
            q.scaled(r[5]),
            q.scaled(r[6]),
            str(r[7]),
        )
        for r in rows
    ]
