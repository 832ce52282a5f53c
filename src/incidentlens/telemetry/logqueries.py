"""Log lines grouped by distinct message, per window, in DuckDB: the input of template mining.

Per-line work (first line of the body, window membership, counts, distinct traces, examples) stays in
the database; Python sees one row per distinct (service, level, message), which the miner handles once.
"""

from __future__ import annotations

from incidentlens.model import TimeRange
from incidentlens.telemetry.rows import LogMessageGroup
from incidentlens.telemetry.store import TelemetryStore

# Only the first line of a body is a message (the rest is a stack trace); longer text is cut, as the miner would.
MESSAGE_CHARS = 1_000

_MESSAGE_SQL = f"left(split_part(coalesce(body, ''), chr(10), 1), {MESSAGE_CHARS})"


def log_message_groups(store: TelemetryStore, baseline: TimeRange, incident: TimeRange) -> list[LogMessageGroup]:
    """Distinct messages with their counts in the normal period (`[start, end)`) and the incident (`[start, end]`)."""
    rows = store.rows(
        "WITH l AS (SELECT coalesce(service, '') AS service, upper(coalesce(level, '')) AS level,"
        "  " + _MESSAGE_SQL + " AS message, coalesce(body, '') AS body, coalesce(source, '') AS source,"
        "  coalesce(trace_id, '') AS trace_id, coalesce(exception_type, '') AS exception_type, ts_ns,"
        "  (ts_ns >= $3 AND ts_ns <= $4) AS inc FROM logs"
        "  WHERE (ts_ns >= $1 AND ts_ns < $2) OR (ts_ns >= $3 AND ts_ns <= $4)),"
        # The example is the first line in the incident window, else the first in the normal period.
        " k AS (SELECT *, (NOT inc, ts_ns) AS pick FROM l)"
        " SELECT service, level, message,"
        "  count(*) FILTER (WHERE NOT inc), count(*) FILTER (WHERE inc),"
        "  count(DISTINCT nullif(trace_id, '')) FILTER (WHERE NOT inc),"
        "  count(DISTINCT nullif(trace_id, '')) FILTER (WHERE inc),"
        "  coalesce(max(nullif(exception_type, '')), ''),"
        "  arg_min(body, pick), arg_min(source, pick), arg_min(trace_id, pick),"
        "  coalesce(min(ts_ns) FILTER (WHERE inc), 0)"
        " FROM k GROUP BY service, level, message ORDER BY service, level, message",
        [baseline.start_ns, baseline.end_ns, incident.start_ns, incident.end_ns],
    )
    return [LogMessageGroup(*r) for r in rows]


def log_span(store: TelemetryStore) -> TimeRange | None:
    """First and last log timestamp, or None without logs."""
    row = store.rows("SELECT min(ts_ns), max(ts_ns) FROM logs")
    if not row or row[0][0] is None:
        return None
    return TimeRange(int(row[0][0]), int(row[0][1]))
