"""Log questions pushed down to ClickHouse: message groups for template mining, log statements, stack traces.

Messages are grouped in SQL. A group of messages that differ only in hex or decimal tokens (ids, counters)
crosses the wire message by message while it has at most `max_message_groups` distinct messages; beyond
that it crosses as one row (its first message as the example, counts summed), because the template miner
masks those tokens anyway and a fleet's per-request ids would otherwise ship every line. Stack traces are
grouped by their text in SQL and parsed here with the ingest readers' parser, so frames match a file load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from incidentlens.analyze.stacktraces import find_stacktrace, parse_stacktrace
from incidentlens.model import TimeRange
from incidentlens.model.stack import StackTrace
from incidentlens.telemetry.clickhouse_connection import literal
from incidentlens.telemetry.logqueries import MESSAGE_CHARS, VARIABLE_TOKEN
from incidentlens.telemetry.rows import FrameGroup, LoggerCount, LogMessageGroup

if TYPE_CHECKING:
    from incidentlens.telemetry.clickhouse_queries import ClickHouseQueries

# Messages of narrow shapes listed by key in the second query (about 20 bytes each: inside ClickHouse's
# default 256 KiB query size).
_MAX_LISTED_MESSAGES = 10_000
_VARIABLE_TOKEN = VARIABLE_TOKEN.replace("\\", "\\\\")  # as a ClickHouse string literal


def log_message_groups(q: ClickHouseQueries, baseline: TimeRange, incident: TimeRange) -> list[LogMessageGroup]:
    """`DuckDBQueries.log_message_groups` in ClickHouse, with wide id-only groups folded (module docstring).

    Two groupings over the lines: by shape with `uniqUpTo` (memory bounded per shape) to tell narrow shapes
    from wide ones, then by exact message for the narrow shapes only.
    """
    base = f"(ts_ns >= {int(baseline.start_ns)} AND ts_ns < {int(baseline.end_ns)})"
    inc = f"(ts_ns >= {int(incident.start_ns)} AND ts_ns <= {int(incident.end_ns)})"
    aggregates = (
        "countIf(NOT inc), countIf(inc), uniqExactIf(tk, trace_id != '' AND NOT inc),"
        " uniqExactIf(tk, trace_id != '' AND inc), max(exception_type), argMin(body, (NOT inc, ts_ns)),"
        " argMin(trace_id, (NOT inc, ts_ns)), minIf(ts_ns, inc)"
    )
    lines = (
        f"(SELECT service, upper(level) AS level, leftUTF8(splitByChar('\\n', body)[1], {MESSAGE_CHARS}) AS message,"
        f" body, trace_id, tk, exception_type, ts_ns, {inc} AS inc FROM {q.logs(baseline, incident)}"
        f" WHERE {base} OR {inc})"
    )
    cap = q.max_message_groups
    if cap is None:
        rows = q.rows(
            f"SELECT service, level, message, {aggregates}, false FROM {lines} GROUP BY service, level, message"
        )
    else:
        rows = _folded(q, lines, aggregates, min(max(int(cap), 1), 100))
    groups = [
        LogMessageGroup(
            str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), str(r[7]), str(r[8]), "",
            str(r[9]), int(r[10] or 0), bool(r[11]),
        )
        for r in rows
    ]  # fmt: skip
    return sorted(groups, key=lambda g: (g.service, g.level, g.message))


def _folded(q: ClickHouseQueries, lines: str, aggregates: str, cap: int) -> list[tuple[Any, ...]]:
    """Narrow shapes message by message, wide ones (over `cap` messages, at most 100) as one row each.

    The first pass masks every message once and groups by shape: wide shapes come back whole, narrow ones as
    the 64-bit keys of their (at most `cap`) messages; the second groups the lines holding those messages,
    without masking again. One statement with the shapes as a subquery would mask and group every line three
    times (ClickHouse inlines each reference to a `WITH` subquery).
    """
    message_key = "cityHash64(service, level, message)"
    shaped = (
        "(SELECT service, level, message, body, trace_id, tk, exception_type, ts_ns, inc,"
        f" replaceRegexpAll(replaceRegexpAll(message, '{_VARIABLE_TOKEN}', '0'), '[0-9]+', '0') AS shape"
        f" FROM {lines})"
    )
    # A wide shape's distinct traces are estimated (HyperLogLog past a few thousand, within about 1 %): exact
    # sets of every trace per shape are what made this pass spill. Narrow messages are counted exactly below.
    estimated = aggregates.replace("uniqExactIf(", "uniqCombined64If(")
    shapes = q.rows(
        f"SELECT uniqUpTo({cap})(message) > {cap}, service, level, argMin(message, (NOT inc, ts_ns)), {estimated},"
        f" groupUniqArray({cap + 1})({message_key}) FROM {shaped} GROUP BY service, level, shape"
    )
    rows = [(*r[1:-1], True) for r in shapes if r[0]]
    narrow = sorted({int(key) for r in shapes if not r[0] for key in r[-1]})
    if not narrow:
        return rows
    keys = ", ".join(map(str, narrow))
    if len(narrow) > _MAX_LISTED_MESSAGES:  # past ClickHouse's query size: the narrow shapes as a subquery
        keys = (
            f"SELECT arrayJoin(groupUniqArray({cap + 1})({message_key})) FROM {shaped}"
            f" GROUP BY service, level, shape HAVING uniqUpTo({cap})(message) <= {cap}"
        )
    return rows + q.rows(
        f"SELECT service, level, message, {aggregates}, false FROM {lines}"
        f" WHERE {message_key} IN ({keys}) GROUP BY service, level, message"
    )


def logger_counts_by_service(
    q: ClickHouseQueries, baseline: TimeRange, incident: TimeRange, *, service: str | None = None
) -> dict[str, list[LoggerCount]]:
    base = f"(ts_ns >= {int(baseline.start_ns)} AND ts_ns < {int(baseline.end_ns)})"
    inc = f"(ts_ns >= {int(incident.start_ns)} AND ts_ns <= {int(incident.end_ns)})"
    only = f" AND service = {literal(service)}" if service is not None else ""
    rows = q.rows(
        f"SELECT service, logger, max(level), countIf({base}), countIf({inc}), argMin(leftUTF8(body, 300), ts_ns)"
        f" FROM {q.logs(baseline, incident)} WHERE service != '' AND logger != ''{only} AND ({base} OR {inc})"
        " GROUP BY service, logger ORDER BY service, logger"
    )
    counts: dict[str, list[LoggerCount]] = {}
    for r in rows:
        counts.setdefault(str(r[0]), []).append(LoggerCount(str(r[1]), str(r[2]), int(r[3]), int(r[4]), str(r[5])))
    return counts


def exception_frames(q: ClickHouseQueries, service: str, incident: TimeRange, limit: int) -> list[FrameGroup]:
    """The most frequent stack traces a service logged in the incident: grouped by text in SQL, parsed here."""
    rows = q.rows(
        "SELECT stack, stack = body, any(exception_type), count() AS n, any(body)"
        f" FROM {q.logs(incident)} WHERE service = {literal(service)} AND stack != ''"
        f" AND ts_ns >= {int(incident.start_ns)} AND ts_ns <= {int(incident.end_ns)}"
        f" GROUP BY stack, stack = body ORDER BY n DESC, stack LIMIT {max(int(limit), 1) * 20}"
    )
    merged: dict[str, tuple[str, int, str]] = {}  # frames JSON -> (exception type, lines, example)
    for stack, in_body, declared, count, example in rows:
        trace = _trace(str(stack), from_body=bool(in_body))
        if trace is None or not trace.frames_json():
            continue
        frames = _dumps(trace.frames_json())
        kind, total, first = merged.get(frames, (trace.exception_type or str(declared), 0, str(example)))
        merged[frames] = (kind, total + int(count), first)
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1][1], kv[0]))
    return [FrameGroup(frames, kind, total, first) for frames, (kind, total, first) in ranked[:limit]]


def _trace(text: str, *, from_body: bool) -> StackTrace | None:
    """As the ingest readers do: a stack attribute is parsed whole, a multi-line body searched for a trace."""
    if from_body:
        found = find_stacktrace(text)
        return found.trace if found else None
    return parse_stacktrace(text)


def _dumps(value: object) -> str:
    from incidentlens.ingest.common import dumps

    return dumps(value)
