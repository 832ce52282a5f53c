"""JSON-lines logs read by DuckDB's own JSON reader, one SQL projection per shape (list of keys) in the file.

The per-record reader in `jsonlogs.py` stays the definition of what a record means. This module only takes
the records whose meaning SQL can reproduce exactly (a known shape, scalar values, an ISO or numeric time,
a known level, hex ids, a one-line message) and inserts them straight into the store; every other record
(nested objects, stack traces, base64 ids, odd times, container wrappers, null values) is handed back, with
its line number and its text re-read from the file, to the per-record reader. A file DuckDB cannot parse
whole (a damaged line, a blank line, bad UTF-8) is read by the per-record reader alone, which names each
bad line.

Two passes over the file, each on every core: the shapes (each key list in record order, with counts), then
DuckDB's record reader with one JSON-typed column per key, so each line is parsed once there and each
record's shape is known by which of its columns are non-NULL. That pass converts every record into a staging
table in file order, so a staged row's position is its line number; the good rows go on to the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentlens.errors import StoreError
from incidentlens.ingest.common import LEVEL_NAMES, MAX_LINE_BYTES, dumps, is_gzip
from incidentlens.ingest.engine_files import ENGINE_MIN_BYTES, compression, line_count, pick_lines, quote
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
_PYTHON_ONLY = frozenset((*OTLP_KEYS, "@mt"))
# Keys of an attached exception: SQL converts the record, the per-record reader's code parses the trace.
_EXCEPTION_KEYS = frozenset((*STACK_KEYS, *EXC_TYPE_KEYS))
_ROOT_CAUSE = "exception.root_cause_type"  # the attribute a parsed trace with a cause adds
_ISO = r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d{2}:?\d{2}|UTC)?$"
_BATCH = 10_000
# DuckDB's JSON reader allocates buffers of about this size (a large one slows every file down); a longer
# line fails the shapes pass, and a line over MAX_LINE_BYTES goes to the per-record reader anyway.
_MAX_OBJECT = 2 * MAX_LINE_BYTES
_SCALE = "['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']"


_ROLES = ("time", "level", "body", "service", "logger", "trace", "span")
_UNFINISHED = ("ts_ns", "service", "level", "body", "trace_id", "span_id", "logger", "attributes", "source")


@dataclass(frozen=True, slots=True)
class EngineResult:
    """What the engine inserted; `leftover` lines (number, raw text) still need the per-record reader, and
    `unfinished` rows (every column but exception_type and frames) their exception columns from the JSON
    object of the record's exception keys (stack traces, exception types), as `jsonlogs._exception` makes."""

    inserted: int
    leftover: Iterator[tuple[int, str]]
    unfinished: Iterator[tuple[dict[str, Any], str]]


def _role_keys(keys: list[str]) -> dict[str, str] | None:
    """The key filling each role in one key set, or None when the per-record reader must read the set.

    A role with several candidate keys present would depend on each record's values (the reader takes the
    first non-empty one), so such sets go to the per-record reader; time and level take the first present
    key, and a record whose value there does not convert goes back to the per-record reader too.
    """
    key_set = set(keys)
    if key_set & _PYTHON_ONLY or ("log" in key_set and key_set <= _DOCKER_KEYS):
        return None
    if key_set & _EXCEPTION_KEYS and _ROOT_CAUSE in key_set:
        return None  # the parsed trace would overwrite the record's own value
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


def _attributes(keys: list[str], roles: dict[str, str], column: dict[str, str]) -> str:
    """The JSON object of the keys no column took, in the record's key order (as the per-record reader).

    Each column holds its value's compact JSON text and is non-NULL in the records of its shape, so the
    object is their concatenation; keys are encoded as the per-record reader encodes them."""
    used = set(roles.values())
    if "level" in roles and "level_value" in keys:
        used.add("level_value")  # logback repeats the level as a number
    return _object([k for k in keys if k not in used], column)


def _object(keys: list[str], column: dict[str, str]) -> str:
    """SQL of the JSON object text of `keys`, from columns holding each value's compact JSON text."""
    if not keys:
        return "'{}'"
    parts = [f"{quote(('{' if i == 0 else ',') + dumps(k) + ':')}, {column[k]}" for i, k in enumerate(keys)]
    return f"concat({', '.join(parts)}, '}}')"


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
    """A normalised hex id ('' when zero or absent), NULL for anything but hex: ids already normal (lower case,
    full width) take one regular expression."""
    s = f"{role}_s"
    return (
        f"CASE WHEN {s} IS NULL THEN '' WHEN regexp_full_match({s}, '[0-9a-f]{{{width}}}') THEN"
        f" (CASE WHEN {s} = '{'0' * width}' THEN '' ELSE {s} END)"
        f" WHEN strlen({s}) <= {width} AND regexp_full_match({s}, '[0-9a-fA-F]+') THEN"
        f" (CASE WHEN ltrim({s}, '0') = '' THEN '' ELSE lpad(lower({s}), {width}, '0') END) END AS {role}_id"
    )


@dataclass(frozen=True, slots=True)
class _Shape:
    """One key list of the file as the shapes pass saw it: how many records, and whether any may hold a null."""

    keys: tuple[str, ...]
    count: int
    nulls: bool


@dataclass(frozen=True, slots=True)
class _Plan:
    """The columns the main pass declares (one per key) and the shapes SQL reads, each with its roles."""

    columns: tuple[str, ...]
    known: tuple[tuple[_Shape, dict[str, str]], ...]


def _shapes(engine: SqlEngine, path: Path, gz: bool) -> tuple[list[_Shape], int] | None:
    """Each key list with its count, on a connection of its own (a damaged file fails here, harmlessly);
    None when the main pass could not read every line as one record (see `_one_record_a_line`)."""
    source = (
        f"read_ndjson_objects({quote(str(path))}, compression={compression(gz)}, maximum_object_size={_MAX_OBJECT})"
    )
    try:
        found = engine.rows_apart(
            "SELECT json_keys(json) AS k, count(*), bool_or(contains(json, 'null')), bool_and(left(json, 1) = '{'),"
            f" sum(strlen(json)), max(strlen(json)) FROM {source} GROUP BY k"
        )
    except StoreError:
        return None  # damaged or not JSON lines throughout: the per-record reader names each bad line
    shapes = [_Shape(tuple(k), int(n), bool(nulls)) for k, n, nulls, _, _, _ in found]
    if not found or not all(objects for *_, objects, _, _ in found):
        return None  # a line that is not an object would stop DuckDB's record reader
    if max(int(longest) for *_, longest in found) > MAX_LINE_BYTES:
        return None  # the per-record reader reports over-long lines
    if any(len(set(s.keys)) != len(s.keys) for s in shapes):
        return None  # a repeated key would stop DuckDB's record reader
    total = sum(s.count for s in shapes)
    if not _one_record_a_line(path, gz, total, sum(int(b) for *_, b, _ in found)):
        return None  # blank lines: record numbers would not be line numbers
    return shapes, total


def _one_record_a_line(path: Path, gz: bool, records: int, record_bytes: int) -> bool:
    """Whether the file's lines are exactly its records, so record numbers are line numbers.

    The records' text (trimmed) fits in their lines, so records plus their bytes reach the file's size (one
    more without a final newline) only when no line is blank and none has padding; otherwise, or for gzip,
    the lines are counted."""
    if not gz:
        size = path.stat().st_size
        with path.open("rb") as fh:
            fh.seek(size - 1)
            ends_with_newline = fh.read(1) == b"\n"
        if record_bytes + records == size + (not ends_with_newline):
            return True
    return records == line_count(path, gz)


def _plan(shapes: list[_Shape]) -> _Plan:
    """Which keys become columns of the main pass, and which shapes it reads.

    A record's shape is known there only by which columns are non-NULL, so a shape is read in SQL only if
    no other shape can show the same columns: one with the same keys in another order, or one with more
    keys that may all be null (DuckDB gives a JSON null as NULL) or that cannot be columns (DuckDB's column
    names ignore case, so of keys differing only in case the most common one is a column)."""
    seen: dict[str, int] = {}
    for shape in shapes:
        for key in shape.keys:
            seen[key] = seen.get(key, 0) + shape.count
    by_case: dict[str, str] = {}
    for key in sorted(seen, key=lambda k: (-seen[k], k)):
        if key and not any(c in key for c in '"\\') and key.isprintable():
            by_case.setdefault(key.lower(), key)
    columns = tuple(sorted(by_case.values()))
    declared = set(columns)
    partial = [
        (frozenset(s.keys), frozenset(s.keys) - (set(s.keys) if s.nulls else set(s.keys) - declared))
        for s in shapes
        if s.nulls or not declared.issuperset(s.keys)
    ]
    key_sets = [frozenset(s.keys) for s in shapes]
    known: list[tuple[_Shape, dict[str, str]]] = []
    for shape, keys in zip(shapes, key_sets, strict=True):
        roles = _role_keys(list(shape.keys)) if shape.keys else None
        if roles is None or not declared.issuperset(keys) or key_sets.count(keys) > 1:
            continue
        if any(keys < whole and least <= keys for whole, least in partial):
            continue
        known.append((shape, roles))
    return _Plan(columns, tuple(known))


def _shape_ids(plan: _Plan, shapes: list[_Shape]) -> tuple[str, str]:
    """SQL of the column masks (63 columns a number) and of each record's known shape (1, 2, ...) by them.

    A file of one shape without nulls needs no masks: every record is that shape."""
    if len(shapes) == 1 and len(plan.known) == 1 and not shapes[0].nulls:
        return "", "1"
    chunks = [range(i, min(i + 63, len(plan.columns))) for i in range(0, len(plan.columns), 63)]
    masks = [" + ".join(f"(c{i} IS NOT NULL)::BIGINT * {1 << (i - r.start)}" for i in r) for r in chunks]
    where = {k: i for i, k in enumerate(plan.columns)}
    cases = []
    for sid, (shape, _) in enumerate(plan.known, 1):
        bits = [sum(1 << (where[k] - r.start) for k in shape.keys if where[k] in r) for r in chunks]
        cases.append(f"WHEN {' AND '.join(f'm{j} = {b}' for j, b in enumerate(bits))} THEN {sid}")
    return "".join(f", {m} AS m{j}" for j, m in enumerate(masks)), f"CASE {' '.join(cases)} END"


def _by_shape(values: list[str], column: str) -> str:
    """One value per known shape (`values[sid - 1]`, 'NULL' for none) as a SQL expression of `sid`."""
    if len(set(values)) == 1:
        return f"{values[0]} AS {column}"
    return f"CASE sid {' '.join(f'WHEN {sid} THEN {v}' for sid, v in enumerate(values, 1))} END AS {column}"


def read_with_engine(path: Path, sink: RowSink, service: str) -> EngineResult | None:
    """Insert the records SQL can read exactly; None when the file must go to the per-record reader whole."""
    engine = sink.engine
    if engine is None or path.stat().st_size < ENGINE_MIN_BYTES:
        return None
    gz = is_gzip(path)
    found = _shapes(engine, path, gz)
    if found is None:
        return None
    shapes, total = found
    plan = _plan(shapes)
    if not plan.known:
        return None
    col = {k: f"c{i}" for i, k in enumerate(plan.columns)}
    picks = {
        f"{role}_t": _by_shape([col[roles[role]] if role in roles else "NULL" for _, roles in plan.known], f"{role}_t")
        for role in _ROLES
    }
    attributes = _by_shape([_attributes(list(s.keys), roles, col) for s, roles in plan.known], "attributes")
    # A nested object (the per-record reader flattens it) goes to the per-record reader. Only values that
    # fill no role are looked at (a role takes no object), by their first byte: '{' sorts after any other.
    flat = _by_shape(
        [" AND ".join([f"{col[k]}::VARCHAR < '{{'" for k in s.keys if k not in roles.values()] or ["true"])
         for s, roles in plan.known],
        "flat",
    )  # fmt: skip
    # Exception keys: the row is finished by the per-record reader's code from their values, all strings.
    exception_keys = [[k for k in s.keys if k in _EXCEPTION_KEYS] for s, _ in plan.known]
    payload = _by_shape([_object(keys, col) if keys else "NULL" for keys in exception_keys], "payload")
    strings_only = _by_shape(
        [" AND ".join([f"left({col[k]}, 1) = '\"'" for k in keys] or ["true"]) for keys in exception_keys],
        "strings_only",
    )
    strings = ", ".join(f"json_extract_string({r}_t, '$') AS {r}_s" for r in _ROLES)
    ok = " AND ".join(
        [
            "sid IS NOT NULL",
            "flat",
            "strings_only",
            *(_string_ok(r) for r in ("body", "service", "logger", "trace", "span")),
            "(body_s IS NULL OR strpos(body_s, chr(10)) = 0)",
            "trace_id IS NOT NULL",
            "span_id IS NOT NULL",
            "ts_ns IS NOT NULL",
            "level IS NOT NULL",
        ]
    )
    types = ", ".join(f"{quote(k)}: 'JSON'" for k in plan.columns)
    source = (
        f"read_json({quote(str(path))}, format = 'newline_delimited', records = 'true', compression ="
        f" {compression(gz)}, maximum_object_size = {_MAX_OBJECT}, columns = {{{types}}})"
        f" AS r({', '.join(col.values())})"
    )
    masks, sid = _shape_ids(plan, shapes)
    # Each line parsed once, by DuckDB's record reader; the steps compute each value once.
    staged = (
        f"WITH a AS (SELECT *{masks} FROM {source}),"
        f" a2 AS (SELECT *, {sid} AS sid FROM a),"
        f" b AS (SELECT sid, {', '.join(picks.values())}, {attributes}, {flat}, {payload}, {strings_only} FROM a2),"
        f" b2 AS (SELECT *, {strings} FROM b),"
        f" c AS (SELECT *, {_TIME_STEP_1}, CASE WHEN regexp_full_match(level_t, '[0-9]+') THEN"
        f" TRY_CAST(level_t AS BIGINT) END AS level_n, {_id_sql('trace', 32)}, {_id_sql('span', 16)} FROM b2),"
        f" d AS (SELECT *, {_TIME_STEP_2} FROM c),"
        f" e AS (SELECT *, {_TIME_STEP_3}, {_levels_sql()} AS level FROM d),"
        f" v AS (SELECT *, coalesce({ok}, false) AS good FROM e)"
    )
    row = (
        f"SELECT ts_ns, coalesce(service_s, {quote(service)}) AS service, level, coalesce(body_s, '') AS body,"
        " trace_id, span_id, coalesce(logger_s, '') AS logger,"
        " attributes, good, payload"
    )
    columns = "ts_ns, service, level, body, trace_id, span_id, logger, exception_type, frames, attributes, source"
    values = "ts_ns, service, level, body, trace_id, span_id, logger, '', '[]', attributes, source"
    stage, rest, unfinished = (f"_incidentlens_jsonlogs_{name}" for name in ("stage", "rest", "unfinished"))
    # Every record converted in one parallel pass that keeps the file's order (DuckDB keeps insertion order
    # by default), so staged rows have consecutive rowids in line order: no row_number(), which would run
    # the whole pass on one thread. Rows without exception keys go on to the store; the rest wait.
    engine.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS {staged} {row} FROM v")
    try:
        first, last, count = engine.rows(f"SELECT min(rowid), max(rowid), count(*) FROM {stage}")[0]
        if count != total or last - first + 1 != total:
            return None  # the file's order not kept (never seen): the per-record reader reads it whole
        number = f"rowid - {int(first) - 1}"  # a transaction numbers its new rows from a base of its own
        line, source_sql = f"{number} AS line", f"{quote(str(path) + ':')} || ({number}) AS source"
        inserted = sink.bulk_insert(
            "logs",
            columns,
            f"SELECT {values} FROM (SELECT *, {source_sql} FROM {stage} WHERE good AND payload IS NULL)",
        )
        if inserted == total:
            return EngineResult(inserted, iter(()), iter(()))
        engine.execute(f"CREATE OR REPLACE TEMP TABLE {rest} AS SELECT {line} FROM {stage} WHERE NOT good")
        if any(exception_keys):
            engine.execute(
                f"CREATE OR REPLACE TEMP TABLE {unfinished} AS SELECT {line}, {source_sql}, *"
                f" FROM {stage} WHERE good AND payload IS NOT NULL"
            )
    finally:
        engine.execute(f"DROP TABLE IF EXISTS {stage}")
    # The rest by line number, their text from the file.
    leftover = pick_lines(path, gz, (int(n) for (n,) in _pages(engine, rest, "line")))
    return EngineResult(inserted, leftover, _unfinished(engine, unfinished) if any(exception_keys) else iter(()))


def _unfinished(engine: SqlEngine, table: str) -> Iterator[tuple[dict[str, Any], str]]:
    """The staged rows that wait for their exception columns, with the JSON object of their exception keys."""
    for _, *values, payload in _pages(engine, table, f"line, {', '.join(_UNFINISHED)}, payload"):
        yield dict(zip(_UNFINISHED, values, strict=True)), str(payload)


def _pages(engine: SqlEngine, table: str, columns: str) -> Iterator[tuple[Any, ...]]:
    """The rows of `table` (`columns`, the first being `line`) in line order, a page at a time (each page a
    whole query, so the per-record reader may write to the store in between); the table goes when read."""
    last = 0
    try:
        while page := engine.rows(f"SELECT {columns} FROM {table} WHERE line > ? ORDER BY line LIMIT {_BATCH}", [last]):
            yield from page
            last = int(page[-1][0])
    finally:
        engine.execute(f"DROP TABLE IF EXISTS {table}")
