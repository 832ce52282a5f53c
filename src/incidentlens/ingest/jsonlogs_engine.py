"""JSON-lines logs read by DuckDB's own JSON reader, one SQL projection per shape (set of keys) in the file.

The per-record reader in `jsonlogs.py` stays the definition of what a record means. This module only takes
the records whose meaning SQL can reproduce exactly (a known shape, scalar values, an ISO or numeric time,
a known level, hex ids, a one-line message) and inserts them straight into the store; every other record
(nested objects, stack traces, base64 ids, odd times, container wrappers) is handed back, with its line
number, to the per-record reader. A file DuckDB cannot parse whole (a damaged line, a blank line, bad
UTF-8) is read by the per-record reader alone, which names each bad line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from incidentlens.errors import StoreError
from incidentlens.ingest.common import LEVEL_NAMES, MAX_LINE_BYTES, is_gzip
from incidentlens.ingest.engine_files import ENGINE_MIN_BYTES, compression, line_count, quote
from incidentlens.ingest.sink import RowSink, SqlEngine

# The per-record reader's key tables, in its priority order (imported by jsonlogs.py from here too).
TIME_KEYS = ("@timestamp", "timestamp", "time", "ts", "@t", "asctime", "datetime", "date", "timeUnixNano",
             "time_unix_nano", "observedTimestamp", "Timestamp", "eventTime")  # fmt: skip
LEVEL_KEYS = ("level", "log.level", "severity_text", "severityText", "severity", "levelname", "@l", "lvl",
              "loglevel", "level_name", "Level", "severity_number", "severityNumber", "level_value")  # fmt: skip
MESSAGE_KEYS = ("message", "msg", "body", "@m", "event", "short_message", "MESSAGE", "log", "Message")
SERVICE_KEYS = ("service.name", "resource.service.name", "resource.attributes.service.name", "service",
                "service_name", "serviceName", "app", "application", "app_name")  # fmt: skip
TRACE_KEYS = ("trace_id", "traceId", "trace.id", "TraceId", "traceID", "otelTraceID", "traceid")
SPAN_KEYS = ("span_id", "spanId", "span.id", "SpanId", "spanID", "otelSpanID", "spanid")
LOGGER_KEYS = ("logger", "logger_name", "log.logger", "loggerName", "logger.name", "SourceContext")
STACK_KEYS = ("stack_trace", "stacktrace", "exc_info", "exception", "error.stack_trace", "@x", "err.stack",
              "error.stack", "stack", "exc_text", "exception.stacktrace", "exception.stack_trace")  # fmt: skip
EXC_TYPE_KEYS = ("error.type", "exception.type", "err.type", "error.kind", "exc_type", "err.name")
OTLP_KEYS = ("resourceLogs", "resourceSpans", "resourceMetrics", "resource_logs", "resource_spans")
_DOCKER_KEYS = frozenset({"log", "stream", "time", "attrs"})
# Python shapes: the whole record goes to the per-record reader.
_PYTHON_ONLY = frozenset((*STACK_KEYS, *EXC_TYPE_KEYS, *OTLP_KEYS, "@mt"))
_ISO = r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d{2}:?\d{2}|UTC)?$"
_BATCH = 10_000
_SCALE = "['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']"


_ROLES = ("time", "level", "body", "service", "logger", "trace", "span")


@dataclass(frozen=True, slots=True)
class EngineResult:
    """What the engine inserted; `leftover` lines (number, raw text) still need the per-record reader."""

    inserted: int
    leftover: Iterator[tuple[int, str]]


def _path_sql(key: str) -> str:
    return quote('$."' + key + '"')


def _role_keys(keys: list[str]) -> dict[str, str] | None:
    """The key filling each role in one key set, or None when the per-record reader must read the set.

    A role with several candidate keys present would depend on each record's values (the reader takes the
    first non-empty one), so such sets go to the per-record reader; time and level take the first present
    key, and a record whose value there does not convert goes back to the per-record reader too.
    """
    key_set = set(keys)
    if key_set & _PYTHON_ONLY or ("log" in key_set and key_set <= _DOCKER_KEYS):
        return None
    if any('"' in k or "\\" in k for k in keys):
        return None
    roles: dict[str, str] = {}
    for role, candidates in (
        ("body", MESSAGE_KEYS),
        ("service", SERVICE_KEYS),
        ("logger", LOGGER_KEYS if any(k in key_set for k in LOGGER_KEYS) or "levelname" not in key_set else ("name",)),
        ("trace", TRACE_KEYS),
        ("span", SPAN_KEYS),
    ):
        present = [k for k in candidates if k in key_set]
        if len(present) > 1:
            return None
        if present:
            roles[role] = present[0]
    for role, ordered in (("time", TIME_KEYS), ("level", LEVEL_KEYS)):
        present = [k for k in ordered if k in key_set]
        if present:
            roles[role] = present[0]
    if "level" not in roles and "@t" in key_set:
        return None  # CLEF: the per-record reader fills in INFO
    return roles


def _attributes(keys: list[str], roles: dict[str, str], index: dict[str, int]) -> str:
    """The JSON object of the keys no column took, in the record's key order (as the per-record reader)."""
    used = set(roles.values())
    if "level" in roles and "level_value" in keys:
        used.add("level_value")  # logback repeats the level as a number
    pairs = ", ".join(f"{quote(k)}, t[{index[k]}]" for k in keys if k not in used)
    return f"CAST(json_object({pairs}) AS VARCHAR)" if pairs else "'{}'"


def _levels_sql() -> str:
    names = " ".join(f"WHEN {quote(k)} THEN {quote(v)}" for k, v in LEVEL_NAMES.items())
    return (
        f"CASE WHEN level_t IS NULL THEN '' WHEN left(level_t, 1) = '\"' THEN (CASE lower(level_s) {names} END)"
        f" WHEN regexp_full_match(level_t, '[0-9]+') THEN (CASE WHEN level_n BETWEEN 1 AND 24 THEN"
        f" {_SCALE}[(level_n - 1) // 4 + 1] WHEN level_n IN (10, 20, 30, 40, 50, 60) THEN {_SCALE}[level_n // 10]"
        f" WHEN level_n IN (5000, 10000, 20000, 30000, 40000) THEN"
        f" {_SCALE}[CASE level_n WHEN 5000 THEN 1 ELSE level_n // 10000 + 1 END] END) END"
    )


# Times, in steps so each value is computed once: ISO text (seconds from DuckDB's parser, nanoseconds from
# the digits), integers and floats by magnitude (s, ms, us, ns), exactly as `common.parse_time_ns`.
_TIME_STEP_1 = (
    f"CASE WHEN left(time_t, 1) = '\"' THEN regexp_extract(time_s, {quote(_ISO)}, ['d', 'c', 'f', 'z']) END AS m,"
    " CASE WHEN regexp_full_match(time_t, '-?[0-9]+') THEN TRY_CAST(time_t AS HUGEINT) END AS time_n,"
    " CASE WHEN regexp_full_match(time_t, '-?[0-9.eE+-]+') THEN TRY_CAST(time_t AS DOUBLE) END AS time_x"
)
_TIME_STEP_2 = (
    "CASE WHEN m.d <> '' THEN TRY_CAST(m.d || ' ' || CASE WHEN length(m.c) = 5 THEN m.c || ':00' ELSE m.c END ||"
    " CASE WHEN coalesce(m.z, '') IN ('', 'Z', 'z', 'UTC') THEN '+00:00'"
    " WHEN strpos(m.z, ':') = 0 THEN left(m.z, 3) || ':' || right(m.z, 2) ELSE m.z END AS TIMESTAMPTZ) END AS time_iso,"
    " CASE WHEN time_n >= 100000000000000000 THEN time_n WHEN time_n >= 100000000000000 THEN time_n * 1000"
    " WHEN time_n >= 100000000000 THEN time_n * 1000000 ELSE time_n * 1000000000 END AS time_ni,"
    " CASE WHEN NOT isfinite(time_x) OR abs(time_x) >= 1e19 THEN NULL WHEN time_x >= 1e17 THEN trunc(time_x)"
    " WHEN time_x >= 1e14 THEN trunc(time_x * 1e3) WHEN time_x >= 1e11 THEN trunc(time_x * 1e6)"
    " ELSE round_even(time_x * 1e9, 0) END AS time_nx"
)
_TIME_STEP_3 = (
    "CASE WHEN time_t IS NULL THEN 0"
    " WHEN time_iso IS NOT NULL AND year(time_iso) > 1 AND abs(epoch(time_iso)) < 9.2e9 THEN"
    " CAST(epoch(time_iso) AS BIGINT) * 1000000000 + CAST(rpad(coalesce(m.f, ''), 9, '0') AS BIGINT)"
    " WHEN time_n IS NOT NULL THEN (CASE WHEN abs(time_ni) < 9.2e18 THEN CAST(time_ni AS BIGINT) END)"
    " WHEN m IS NULL AND abs(time_nx) < 9.2e18 THEN CAST(time_nx AS BIGINT) END AS ts_ns"
)


def _string_ok(role: str) -> str:
    return f"({role}_t IS NULL OR (left({role}_t, 1) = '\"' AND {role}_s <> ''))"


def _id_sql(role: str, width: int) -> str:
    value = f"lpad(lower({role}_s), {width}, '0')"
    return f"CASE WHEN {role}_s IS NULL OR regexp_full_match({role}_s, '0+') THEN '' ELSE {value} END"


def read_with_engine(path: Path, sink: RowSink, service: str) -> EngineResult | None:
    """Insert the records SQL can read exactly; None when the file must go to the per-record reader whole."""
    engine = sink.engine
    if engine is None or path.stat().st_size < ENGINE_MIN_BYTES:
        return None
    gz = is_gzip(path)
    source = f"read_ndjson_objects({quote(str(path))}, compression={compression(gz)},"
    source += " maximum_object_size=268435456)"
    try:
        shapes = engine.rows_apart(f"SELECT json_keys(json) AS k, count(*) FROM {source} GROUP BY k")
    except StoreError:
        return None  # damaged or not JSON lines throughout: the per-record reader names each bad line
    total = sum(int(n) for _, n in shapes)
    if total != line_count(path, gz):
        return None  # blank lines: record numbers would not be line numbers
    union: list[str] = sorted({k for keys, _ in shapes if keys for k in keys})
    index = {k: i + 1 for i, k in enumerate(union)}
    picks: dict[str, list[str]] = {f"{r}_{v}": [] for r in _ROLES for v in "ts"}
    picks["attributes"] = []
    known: list[str] = []
    for keys, _ in shapes:
        roles = _role_keys(list(keys)) if keys else None
        if roles is None:
            continue
        sid = len(known) + 1
        known.append(f"WHEN [{', '.join(quote(k) for k in keys)}] THEN {sid}")
        for role, key in roles.items():
            picks[f"{role}_t"].append(f"WHEN {sid} THEN t[{index[key]}]")
            picks[f"{role}_s"].append(f"WHEN {sid} THEN s[{index[key]}]")
        picks["attributes"].append(f"WHEN {sid} THEN {_attributes(list(keys), roles, index)}")
    if not known:
        return None
    paths = "[" + ", ".join(_path_sql(k) for k in union) + "]"
    chosen = ", ".join(f"CASE sid {' '.join(w)} END AS {c}" if w else f"NULL AS {c}" for c, w in picks.items())
    # A nested object anywhere (the reader flattens it) or an over-long line: the per-record reader decides.
    plain = f"strlen(json::VARCHAR) <= {MAX_LINE_BYTES} AND NOT regexp_matches(json::VARCHAR, ':\\s*\\{{')"
    ok = " AND ".join(
        [
            "sid IS NOT NULL",
            plain,
            *(_string_ok(r) for r in ("body", "service", "logger", "trace", "span")),
            "(body_s IS NULL OR strpos(body_s, chr(10)) = 0)",
            "(trace_s IS NULL OR regexp_full_match(trace_s, '[0-9a-fA-F]{1,32}'))",
            "(span_s IS NULL OR regexp_full_match(span_s, '[0-9a-fA-F]{1,16}'))",
            "ts_ns IS NOT NULL",
            "level IS NOT NULL",
        ]
    )
    staged = (
        f"WITH a AS (SELECT row_number() OVER () AS line, json, CASE json_keys(json) {' '.join(known)} END AS sid,"
        f" json_extract(json, {paths}) AS t, json_extract_string(json, {paths}) AS s FROM {source}),"
        f" b AS (SELECT line, json, sid, {chosen} FROM a),"
        f" c AS (SELECT *, {_TIME_STEP_1}, CASE WHEN regexp_full_match(level_t, '[0-9]+') THEN"
        f" TRY_CAST(level_t AS BIGINT) END AS level_n FROM b),"
        f" d AS (SELECT *, {_TIME_STEP_2} FROM c),"
        f" e AS (SELECT *, {_TIME_STEP_3}, {_levels_sql()} AS level FROM d),"
        f" v AS (SELECT *, coalesce({ok}, false) AS good FROM e)"
    )
    # One pass over the file into a staging table; raw text is kept only for the records left over.
    stage = "_incidentlens_jsonlogs_stage"
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE {stage} AS {staged} SELECT line, good, ts_ns,"
        f" coalesce(service_s, {quote(service)}) AS service, level, coalesce(body_s, '') AS body,"
        f" {_id_sql('trace', 32)} AS trace_id, {_id_sql('span', 16)} AS span_id, coalesce(logger_s, '') AS logger,"
        f" attributes, CASE WHEN NOT good THEN json::VARCHAR END AS raw FROM v"
    )
    try:
        inserted = sink.bulk_insert(
            "logs",
            "ts_ns, service, level, body, trace_id, span_id, logger, exception_type, frames, attributes, source",
            f"SELECT ts_ns, service, level, body, trace_id, span_id, logger, '', '[]', attributes,"
            f" {quote(str(path) + ':')} || line FROM {stage} WHERE good",
        )
    except BaseException:
        engine.execute(f"DROP TABLE IF EXISTS {stage}")
        raise
    if inserted == total:
        engine.execute(f"DROP TABLE {stage}")
        return EngineResult(inserted, iter(()))
    return EngineResult(inserted, _leftover(engine, stage))


def _leftover(engine: SqlEngine, stage: str) -> Iterator[tuple[int, str]]:
    """The staged records SQL did not convert, in line order, a page at a time (each page a whole query, so
    the per-record reader may write to the store in between); the staging table goes when they are read."""
    last = 0
    try:
        while page := engine.rows(
            f"SELECT line, raw FROM {stage} WHERE NOT good AND line > ? ORDER BY line LIMIT {_BATCH}", [last]
        ):
            yield from ((int(n), str(text)) for n, text in page)
            last = int(page[-1][0])
    finally:
        engine.execute(f"DROP TABLE IF EXISTS {stage}")
