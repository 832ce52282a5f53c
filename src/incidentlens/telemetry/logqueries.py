"""Log lines grouped by distinct message, per window, in DuckDB: the input of template mining.

Per-line work (first line of the body, window membership, counts, distinct traces, examples) stays in
the database; Python sees one row per distinct (service, level, message), which the miner handles once.

Messages that carry per-request ids make almost every line distinct, so on big windows that would send a
fifth of all lines to Python. Past `FOLD_ABOVE_MESSAGES` distinct messages, a message shape (the message
with its id-like tokens masked, `shape_sql`) that holds more than `MAX_MESSAGE_VARIANTS` messages crosses
as one row: its first message as the example, counts and distinct traces summed as the miner would sum
them. Below that bound nothing is folded, so investigations of ordinary size see every message.
"""

from __future__ import annotations

from incidentlens.model import TimeRange
from incidentlens.telemetry.rows import LogMessageGroup
from incidentlens.telemetry.store import TelemetryStore

# Only the first line of a body is a message (the rest is a stack trace); longer text is cut, as the miner would.
MESSAGE_CHARS = 1_000
# A cost bound, not a tuned value: about 100 MB of message rows in Python. Smaller windows are never folded.
FOLD_ABOVE_MESSAGES = 100_000
# A shape with more distinct messages than this is folded (ClickHouse's `max_message_variants` default too).
MAX_MESSAGE_VARIANTS = 50
# Tokens of hex digits (and dashes) holding at least one decimal digit (ids, counters, uuids, addresses);
# then any other digit run (`1234us`) goes too. Only the grouping uses this shape; the miner sees real lines.
VARIABLE_TOKEN = r"\b[0-9a-fA-F-]*[0-9][0-9a-fA-F-]*\b"

_MESSAGE_SQL = f"left(split_part(coalesce(body, ''), chr(10), 1), {MESSAGE_CHARS})"
_SHAPE_SQL = f"regexp_replace(regexp_replace(message, '{VARIABLE_TOKEN}', '0', 'g'), '[0-9]+', '0', 'g')"
_SUMS = (
    "sum(baseline_count), sum(incident_count), sum(baseline_traces), sum(incident_traces), max(exception_type),"
    " arg_min(example, pick), arg_min(example_source, pick), arg_min(example_trace, pick),"
    " coalesce(min(first_ns) FILTER (WHERE first_ns > 0), 0)"
)


def log_message_groups(
    store: TelemetryStore,
    baseline: TimeRange,
    incident: TimeRange,
    *,
    fold_above: int = FOLD_ABOVE_MESSAGES,
    max_variants: int = MAX_MESSAGE_VARIANTS,
) -> list[LogMessageGroup]:
    """Distinct messages with their counts in the normal period (`[start, end)`) and the incident (`[start, end]`).

    Wide shapes are folded only past `fold_above` distinct messages (module docstring).
    """
    rows = store.rows(
        "WITH l AS (SELECT coalesce(service, '') AS service, upper(coalesce(level, '')) AS level,"
        "  " + _MESSAGE_SQL + " AS message, coalesce(body, '') AS body, coalesce(source, '') AS source,"
        "  coalesce(trace_id, '') AS trace_id, coalesce(exception_type, '') AS exception_type, ts_ns,"
        "  (ts_ns >= $3 AND ts_ns <= $4) AS inc FROM logs"
        "  WHERE (ts_ns >= $1 AND ts_ns < $2) OR (ts_ns >= $3 AND ts_ns <= $4)),"
        # The example is the first line in the incident window, else the first in the normal period.
        " k AS (SELECT *, (NOT inc, ts_ns) AS pick FROM l),"
        " m AS MATERIALIZED (SELECT service, level, message,"
        "  count(*) FILTER (WHERE NOT inc) AS baseline_count, count(*) FILTER (WHERE inc) AS incident_count,"
        "  count(DISTINCT nullif(trace_id, '')) FILTER (WHERE NOT inc) AS baseline_traces,"
        "  count(DISTINCT nullif(trace_id, '')) FILTER (WHERE inc) AS incident_traces,"
        "  coalesce(max(nullif(exception_type, '')), '') AS exception_type,"
        "  arg_min(body, pick) AS example, arg_min(source, pick) AS example_source,"
        "  arg_min(trace_id, pick) AS example_trace, coalesce(min(ts_ns) FILTER (WHERE inc), 0) AS first_ns,"
        "  min(pick) AS pick"
        "  FROM k GROUP BY service, level, message),"
        " s AS MATERIALIZED (SELECT *, " + _SHAPE_SQL + " AS shape FROM m"
        "  WHERE (SELECT count(*) FROM m) > $5),"
        " w AS (SELECT service, level, shape FROM s GROUP BY service, level, shape HAVING count(*) > $6),"
        " f AS (SELECT service, level, message FROM s SEMI JOIN w USING (service, level, shape))"
        " SELECT service, level, message, baseline_count, incident_count, baseline_traces, incident_traces,"
        "  exception_type, example, example_source, example_trace, first_ns, false"
        " FROM m ANTI JOIN f USING (service, level, message)"
        " UNION ALL"
        " SELECT service, level, arg_min(message, pick), " + _SUMS + ", true"
        " FROM s SEMI JOIN w USING (service, level, shape) GROUP BY service, level, shape"
        " ORDER BY service, level, message",
        [baseline.start_ns, baseline.end_ns, incident.start_ns, incident.end_ns, fold_above, max_variants],
    )
    return [LogMessageGroup(*r) for r in rows]


def log_span(store: TelemetryStore) -> TimeRange | None:
    """First and last log timestamp, or None without logs."""
    row = store.rows("SELECT min(ts_ns), max(ts_ns) FROM logs")
    if not row or row[0][0] is None:
        return None
    return TimeRange(int(row[0][0]), int(row[0][1]))
