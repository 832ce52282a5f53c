"""Prometheus `query_range`/`query` responses read by DuckDB's own JSON reader: `unnest` of `data.result` and of
each series' `values` (or `value`), converted in SQL to exactly the rows of `prometheus.add_response`.

`prometheus.py` stays the definition of what a response means. SQL converts only the responses whose every
series it can convert exactly (a successful matrix or vector answer, string label values without `\\u` escapes,
plain decimal sample times, sample values as strings that Python's `float` reads the same way); any other
response (errors, scalars, histograms, odd values) sends its line, or the whole one-document file, back to the
per-record reader, which names each problem with its file and position. A file DuckDB cannot read whole
(damaged JSON, a list of responses, an unexpected structure, blank lines), or that holds syntax DuckDB's parser
tolerates and orjson refuses (NaN or Infinity literals, trailing commas, huge exponents, a byte order mark), is
read by the per-record reader alone. Plain or gzip.

As for OTLP spans, the file is converted in one pass on a connection of its own (a failing read cannot abort the
ingest transaction) into a Parquet file in the store's scratch folder, which the ingest transaction inserts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from incidentlens.errors import StoreError
from incidentlens.ingest.common import HEAD_BYTES, MAX_BATCH_LINE_BYTES, MAX_DOCUMENT_BYTES, is_gzip, read_head
from incidentlens.ingest.engine_files import (
    ENGINE_MIN_BYTES,
    compression,
    float_kind_sql,
    float_value_sql,
    line_stats,
    quote,
    raw_lines,
    text_size,
)
from incidentlens.ingest.prometheus import SERVICE_LABELS, first_line_is_json
from incidentlens.ingest.sink import RowSink

__all__ = ["ENGINE_MIN_BYTES", "EngineRead", "read_responses_with_engine"]

_SERIES = 'STRUCT(metric MAP(VARCHAR, JSON), "values" VARCHAR[][], value VARCHAR[], histograms JSON, histogram JSON)'
_COLUMNS = f"{{'status': 'JSON', 'data': 'STRUCT(resultType JSON, result {_SERIES}[])'}}"
# What DuckDB's JSON parser accepts and orjson refuses, looked for outside strings (each string is blanked
# first, true/false/null then read as a number): trailing commas, letters other than an exponent's (NaN,
# Infinity), exponents of three digits (orjson refuses those beyond a double; 1e100 only costs the engine path).
_STRING = r'"(?:[^"\\]|\\.)*"'
_LENIENT = r",[ \t\r\n]*[\]}]|[A-DF-Za-df-z]|[eE][-+]?[0-9]{3}"
_COMMA_END = r",[ \t\r]*$"  # a trailing comma across lines: this line's end and the next one's start
_CLOSING = r"^[ \t\r]*[\]}]"
# Sample times and values are read as text (a JSON number as DuckDB writes it: a double's shortest digits, as
# Python's repr; a JSON string as its content). A time Python's `Decimal` reads as the same decimal, small
# enough that its nanoseconds fit a BIGINT: whole seconds and the first nine decimals (`int(Decimal)` truncates).
_TIME = r"-?[0-9]{1,10}(\.[0-9]+)?"
_METRIC_COLUMNS = "ts_ns, service, name, labels, value"


@dataclass(frozen=True, slots=True)
class EngineRead:
    """What SQL took: `responses` read whole, and the JSON lines (numbers) left for the per-record reader."""

    responses: int
    leftover: frozenset[int]


def _string(json: str) -> str:
    """A JSON string's value, NULL for any other JSON type."""
    return f"CASE WHEN left(CAST({json} AS VARCHAR), 1) = '\"' THEN json_extract_string({json}, '$') END"


def _service(labels: str) -> str:
    """`prometheus.service_from_labels` over a MAP(VARCHAR, VARCHAR) of the labels without `__name__`."""
    named = ", ".join(f"nullif({labels}[{quote(key)}], '')" for key in SERVICE_LABELS)
    pod = f"{labels}['pod']"
    parts = f"string_split({pod}, '-')"
    from_pod = (
        f"CASE WHEN coalesce({pod}, '') = '' THEN ''"
        f" WHEN len({parts}) >= 3 THEN array_to_string({parts}[:len({parts}) - 2], '-')"
        f" WHEN len({parts}) = 2 AND regexp_full_match({parts}[2], '[0-9]+') THEN {parts}[1] ELSE {pod} END"
    )
    return f"coalesce({named}, {from_pod})"


def _service_ok(labels: str) -> str:
    """False where `str.isdigit` and SQL could disagree: the pod decides and its name has two parts, the second
    with non-ASCII characters."""
    named = ", ".join(f"nullif({labels}[{quote(key)}], '')" for key in SERVICE_LABELS)
    parts = f"string_split(coalesce({labels}['pod'], ''), '-')"
    return f"(coalesce({named}) IS NOT NULL OR len({parts}) <> 2 OR regexp_full_match({parts}[2], '[\\x00-\\x7F]*'))"


def _series_sql(source: str) -> str:
    """One row per series: its document (line), whether SQL converts the document, name, service, labels."""
    entries = "list_filter(map_entries(s.metric), lambda e: e.key <> '__name__')"
    label_text = (
        "'{' || array_to_string(list_transform(ents, lambda e: CAST(to_json(e.key) AS VARCHAR) || ':'"
        " || CAST(e.value AS VARCHAR)), ',') || '}'"
    )
    plain = "lambda e: left(CAST(e.value AS VARCHAR), 1) = '\"' AND strpos(CAST(e.value AS VARCHAR), '\\u') = 0"
    keys_plain = "lambda e: NOT regexp_matches(e.key, '[\\x00-\\x1F]')"
    return (
        f"WITH d AS (SELECT row_number() OVER () AS doc, status, data FROM {source}),"
        f" e AS (SELECT doc, CAST(status AS VARCHAR) = '\"success\"' AND data.result IS NOT NULL"
        f" AND CAST(data.resultType AS VARCHAR) IN ('\"matrix\"', '\"vector\"') AS ok,"
        f" CAST(data.resultType AS VARCHAR) = '\"matrix\"' AS matrix, ok AND len(data.result) = 0 AS none,"
        f" unnest(CASE WHEN ok AND len(data.result) > 0 THEN data.result ELSE [NULL] END) AS s FROM d),"
        f" f AS (SELECT doc, ok AND (none OR s IS NOT NULL AND s.metric IS NOT NULL AND s.histograms IS NULL"
        f" AND s.histogram IS NULL AND list_bool_and(list_transform(map_entries(s.metric), {plain}))"
        f" IS NOT FALSE AND list_bool_and(list_transform(map_entries(s.metric), {keys_plain})) IS NOT FALSE) AS ok,"
        f" s, matrix, {entries} AS ents FROM e),"
        f" g AS (SELECT doc, ok, s, matrix, coalesce(nullif({_string('s.metric[' + quote('__name__') + ']')}, ''),"
        f" 'value') AS name, {label_text} AS labels,"
        f" map_from_entries(list_transform(ents, lambda e: {{'k': e.key, 'v': json_extract_string(e.value, '$')}}))"
        f" AS lv FROM f)"
        f" SELECT doc, ok AND {_service_ok('lv')} AS ok, name, {_service('lv')} AS service, labels,"
        f" CASE WHEN matrix THEN s.values WHEN s.value IS NULL THEN NULL ELSE [s.value] END AS samples FROM g"
    )


def _samples_sql(series: str) -> str:
    """One row per sample; a series without samples keeps one row (`sample` false), so its document's verdict
    (`good`) is kept."""
    return (
        f"WITH h AS (SELECT doc, ok, name, service, labels,"
        f" unnest(CASE WHEN ok AND len(samples) > 0 THEN samples ELSE [NULL] END) AS p,"
        f" ok AS keep, coalesce(ok AND len(samples) > 0, false) AS has FROM {series}),"
        f" i AS (SELECT doc, keep, p, NOT has AS empty, name, service, labels, p[1] AS t, p[2] AS x, len(p) AS n"
        f" FROM h),"
        f" j AS (SELECT *, CASE WHEN regexp_full_match(t, '{_TIME}') THEN CAST(split_part(t, '.', 1) AS BIGINT) END"
        f" AS secs, {float_kind_sql('x')} AS kind FROM i)"
        f" SELECT doc, coalesce(keep AND (empty OR (p IS NOT NULL AND n = 2 AND secs IS NOT NULL"
        f" AND abs(secs) < 9000000000 AND kind > 0)), false) AS good, NOT empty AS sample,"
        f" CASE WHEN abs(secs) < 9000000000 THEN secs * 1000000000 + CASE WHEN left(t, 1) = '-' THEN -1 ELSE 1 END"
        f" * CAST(rpad(left(split_part(t, '.', 2), 9), 9, '0') AS BIGINT) END AS ts_ns,"
        f" service, name, labels, {float_value_sql('x', 'kind')} AS value FROM j"
    )


def _lenient_sql(path: Path, gz: bool, longest: int) -> str:
    """Whether the file holds syntax DuckDB's JSON parser accepts and orjson refuses, line by line (strings never
    span lines): `_LENIENT` in a line, or a line ending in a comma before one opening with a closing bracket."""
    strings = f"regexp_replace(coalesce(line, ''), {quote(_STRING)}, '\"\"', 'g')"
    blanked = f"regexp_replace({strings}, 'true|false|null', '0', 'g')"
    return (
        f"WITH l AS (SELECT row_number() OVER () AS n, {blanked} AS b FROM {raw_lines(path, gz, longest)}),"
        f" m AS (SELECT b, lead(b) OVER (ORDER BY n) AS following FROM l WHERE NOT regexp_full_match(b, '\\s*'))"
        f" SELECT coalesce(bool_or(regexp_matches(b, {quote(_LENIENT)}) OR (regexp_matches(b, {quote(_COMMA_END)})"
        f" AND regexp_matches(following, {quote(_CLOSING)}))), false) FROM m"
    )


def read_responses_with_engine(path: Path, sink: RowSink) -> EngineRead | None:
    """Insert the samples of the responses SQL converts exactly; None when the whole file must go to the
    per-record reader (see the module docstring)."""
    engine = sink.engine
    size = path.stat().st_size
    if engine is None or size < ENGINE_MIN_BYTES or size > MAX_DOCUMENT_BYTES:
        return None
    head = read_head(path)
    text = head.lstrip(" \t\r\n")
    if not text.startswith("{") or (not head.strip() and len(head) < HEAD_BYTES):
        return None  # a list of responses, a byte order mark, nothing at all: the per-record reader decides
    lines_mode = first_line_is_json(head)
    gz = is_gzip(path)
    lines, longest = line_stats(path, gz) if lines_mode else (1, text_size(path, gz))
    if lines_mode and longest > MAX_BATCH_LINE_BYTES:
        return None  # the per-record reader reports the over-long line
    try:  # on a connection of its own: a failing read leaves the ingest transaction as it was
        if engine.rows_apart(_lenient_sql(path, gz, longest))[0][0]:
            return None
    except StoreError:
        return None  # not UTF-8 text
    source = (
        f"read_json({quote(str(path))}, format = {quote('newline_delimited' if lines_mode else 'unstructured')},"
        f" columns = {_COLUMNS}, compression = {compression(gz)}, maximum_object_size = {max(longest + 1, 1 << 20)})"
    )
    converted = f"WITH series AS ({_series_sql(source)}), {_samples_sql('series').removeprefix('WITH ')}"
    with engine.scratch("incidentlens-prometheus-") as scratch:
        staged = scratch / "samples.parquet"
        try:
            engine.rows_apart(f"COPY ({converted}) TO {quote(str(staged))} (FORMAT parquet, COMPRESSION lz4_raw)")
        except StoreError:
            return None  # damaged, or a structure SQL does not read: the per-record reader names each problem
        stage = f"read_parquet({quote(str(staged))})"
        docs, last = engine.rows(f"SELECT count(DISTINCT doc), max(doc) FROM {stage}")[0]
        if lines_mode and last != lines:
            return None  # DuckDB skips blank lines: its row numbers are line numbers only without them
        if not lines_mode and docs != 1:
            return None  # several documents one after the other: not JSON as orjson reads it
        bad = {int(n) for (n,) in engine.rows(f"SELECT DISTINCT doc FROM {stage} WHERE NOT good")}
        if bad and not lines_mode:
            return None
        where = f"sample AND doc NOT IN (SELECT doc FROM {stage} WHERE NOT good)" if bad else "sample"
        origin = f"{quote(str(path) + ':')} || doc" if lines_mode else quote(str(path))
        sink.bulk_insert(
            "metrics",
            f"{_METRIC_COLUMNS}, source",
            f"SELECT {_METRIC_COLUMNS}, {origin} FROM {stage} WHERE {where}",
        )
    return EngineRead(int(docs) - len(bad), frozenset(bad))
