"""OTLP/JSON file-exporter spans read by DuckDB's own JSON reader: `unnest` of resourceSpans/scopeSpans/spans.

`otlp_traces.convert_span` stays the definition of what a span means. This module converts in SQL only the
export-request lines whose every span SQL can convert exactly (hex ids, integer times, known enums, string,
integer, double and boolean attribute values, no repeated attribute key) and hands every other line back, by
number, to the per-record reader, which names each bad record with its file and line. A file DuckDB cannot
read whole (a damaged line, bad UTF-8, an unexpected structure) or with blank lines (DuckDB skips them, so
its row numbers would not be line numbers) is read by the per-record reader alone.

The file is parsed and converted in one streaming pass on both cores, on a connection of its own (a failing
read cannot abort the ingest transaction), into a temporary Parquet file of converted spans in file order,
each line's first span marked; the ingest transaction numbers the lines by counting the marks and inserts
the good lines' spans from it.
"""

from __future__ import annotations

from pathlib import Path

from incidentlens.errors import StoreError
from incidentlens.ingest.common import MAX_BATCH_LINE_BYTES, is_gzip
from incidentlens.ingest.engine_files import ENGINE_MIN_BYTES, compression, line_stats, quote
from incidentlens.ingest.otlp_common import MAX_NS, SPAN_ID_WIDTH, TRACE_ID_WIDTH
from incidentlens.ingest.otlp_traces import KINDS, STATUSES
from incidentlens.ingest.sink import RowSink

__all__ = ["ENGINE_MIN_BYTES", "read_spans_with_engine"]

# Every leaf whose JSON type matters is read as JSON text: DuckDB would otherwise cast a number to VARCHAR (or
# "7" to BIGINT) where the per-record reader treats the two differently. Containers are typed, so a container
# of the wrong kind fails the read and the file goes to the per-record reader.
_VALUE = (
    "STRUCT(stringValue JSON, intValue JSON, doubleValue JSON, boolValue JSON, arrayValue JSON,"
    " kvlistValue JSON, bytesValue JSON)"
)
_ATTRS = f"STRUCT(key JSON, value {_VALUE})[]"
_SPAN = (
    f"STRUCT(traceId JSON, spanId JSON, parentSpanId JSON, name JSON, kind JSON, startTimeUnixNano JSON,"
    f" endTimeUnixNano JSON, attributes {_ATTRS}, events STRUCT(name JSON, attributes {_ATTRS})[],"
    f" links STRUCT(traceId JSON, spanId JSON)[], status STRUCT(code JSON, message JSON))"
)
_RESOURCE = (
    f"STRUCT(resource STRUCT(attributes {_ATTRS}), scopeSpans STRUCT(spans {_SPAN}[])[],"
    f" instrumentationLibrarySpans JSON)"
)
_COLUMNS = f"{{'resourceSpans': '{_RESOURCE}[]', 'resourceLogs': 'JSON', 'resourceMetrics': 'JSON'}}"
_EXCEPTION_KEYS = ("exception.type", "exception.message", "exception.stacktrace")
_SPAN_COLUMNS = (
    "trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, status, status_message,"
    " attributes, links"
)


def _text(json: str) -> str:
    return f"CAST({json} AS VARCHAR)"


def _plain_string(text: str) -> str:
    """A JSON string whose text is as orjson writes it: DuckDB writes control characters as `\\u001F`, orjson
    as `\\u001f`, so a string with such an escape is left to Python."""
    return f"(left({text}, 1) = '\"' AND strpos({text}, '\\u') = 0)"


def _value(v: str) -> str:
    """The JSON text `otlp_common.any_value` gives an AnyValue, or NULL when SQL leaves it to Python.

    Doubles only where DuckDB and orjson print the same digits; an all-NULL value is either absent fields
    (None) or explicit nulls ("None" in Python): Python decides.
    """
    s, i, d, b = (_text(f"{v}.{k}") for k in ("stringValue", "intValue", "doubleValue", "boolValue"))
    x = f"TRY_CAST({d} AS DOUBLE)"  # no subquery: this runs inside list lambdas
    return (
        f"CASE WHEN {v}.stringValue IS NOT NULL THEN (CASE WHEN {_plain_string(s)} THEN {s} END)"
        f" WHEN {v}.intValue IS NOT NULL THEN (CASE WHEN regexp_full_match({i}, '-?[0-9]{{1,19}}|\"-?[0-9]{{1,19}}\"')"
        f" THEN CAST(TRY_CAST(trim({i}, '\"') AS BIGINT) AS VARCHAR) END)"
        f" WHEN {v}.doubleValue IS NOT NULL THEN (CASE WHEN left({d}, 1) <> '\"' THEN"
        f" (CASE WHEN {x} = 0 OR (abs({x}) >= 1e-4 AND abs({x}) < 1e15) THEN CAST(to_json({x}) AS VARCHAR) END) END)"
        f" WHEN {v}.boolValue IS NOT NULL THEN (CASE WHEN {b} IN ('true', 'false') THEN {b} END) END"
    )


def _pieces(attrs: str) -> str:
    """`"key":value` texts of a KeyValue list (NULL entries where Python must decide)."""
    return (
        f"coalesce(list_transform({attrs}, lambda a: CASE WHEN {_plain_string(_text('a.key'))} THEN"
        f" {_text('a.key')} || ':' || ({_value('a.value')}) END), [])"
    )


def _keys(attrs: str) -> str:
    return f"coalesce(list_transform({attrs}, lambda a: {_text('a.key')}), [])"


def _exception_event(span: str) -> str:
    """The first "exception" event of a span (NULL when none): the span's recorded error."""
    return f"list_filter({span}.events, lambda e: {_text('e.name')} = '\"exception\"')[1]"


def _exception_pieces(event: str) -> str:
    """`"exception.*":value` texts of an exception event, in `otlp_traces` order (the last value of a key wins)."""
    picks = []
    for key in _EXCEPTION_KEYS:
        name = quote('"' + key + '"')
        found = f"list_filter({event}.attributes, lambda a: {_text('a.key')} = {name})"
        piece = f"{name} || ':' || ({_value(f'{found}[-1].value')})"
        picks.append(f"CASE WHEN coalesce(len({found}), 0) = 0 THEN [] ELSE [{piece}] END")
    return f"flatten([{', '.join(picks)}])"


def _id(json: str, width: int) -> str:
    """A normalised hex id ('' when absent or zero), NULL for anything but hex (base64, numbers: Python)."""
    t = _text(json)
    return (
        f"CASE WHEN {json} IS NULL OR {t} = '\"\"' THEN ''"
        f" WHEN regexp_full_match({t}, '\"[0-9a-fA-F]{{1,{width}}}\"') THEN"
        f" (CASE WHEN regexp_full_match({t}, '\"0+\"') THEN '' ELSE lpad(lower(trim({t}, '\"')), {width}, '0') END) END"
    )


def _nanos(json: str) -> str:
    """`otlp_common.unix_nano` for integers and digit strings; NULL (Python decides) otherwise."""
    t = _text(json)
    n = f"CAST(trim({t}, '\"') AS HUGEINT)"
    return (
        f"CASE WHEN {json} IS NULL OR {t} = '\"\"' THEN 0"
        f" WHEN regexp_full_match({t}, '[0-9]{{1,19}}|\"[0-9]{{1,19}}\"') THEN"
        f" (CASE WHEN {n} <= {MAX_NS} THEN CAST({n} AS BIGINT) END)"
        f" END"
    )


def _enum(json: str, names: tuple[str, ...], prefix: str) -> str:
    """`otlp_traces._enum` for numbers, digit strings and names; NULL (Python decides) otherwise."""
    t = _text(json)
    listed = "[" + ", ".join(quote(n) for n in names) + "]"
    name = f"upper(trim({t}, '\"'))"
    return (
        f"CASE WHEN {json} IS NULL THEN {quote(names[0])}"
        f" WHEN regexp_full_match({t}, '-?[0-9]{{1,18}}|\"[0-9]{{1,18}}\"') THEN coalesce({listed}"
        f"[CASE WHEN CAST(trim({t}, '\"') AS BIGINT) BETWEEN 0 AND {len(names) - 1}"
        f" THEN CAST(trim({t}, '\"') AS BIGINT) + 1 END], {quote(names[0])})"
        f" WHEN regexp_full_match({t}, '\"[A-Za-z_]*\"') THEN (CASE WHEN list_contains({listed},"
        f" CASE WHEN starts_with({name}, {quote(prefix)}) THEN {name}[{len(prefix) + 1}:] ELSE {name} END)"
        f" THEN CASE WHEN starts_with({name}, {quote(prefix)}) THEN {name}[{len(prefix) + 1}:] ELSE {name} END"
        f" ELSE {quote(names[0])} END) END"
    )


def _string(json: str, *, other: str) -> str:
    """A JSON string's value; '' when absent; `other` for any other JSON type."""
    t = _text(json)
    string = f"json_extract_string({json}, '$')"
    return f"CASE WHEN {json} IS NULL THEN '' WHEN left({t}, 1) = '\"' THEN {string} ELSE {other} END"


def _integer_text(json: str) -> str:
    """A JSON integer as Python's `str(int)` writes it (no "-0"); NULL for other types."""
    t = _text(json)
    return f"CASE WHEN regexp_full_match({t}, '-?[1-9][0-9]*|0') THEN {t} END"


def _flat_sql(path: Path, longest: int, gz: bool) -> str:
    """One row per span, still in OTLP form: whether it is its line's first row, whether its line and resource
    are readable in SQL (`ok`), its resource's attributes as JSON text, their keys, and its service.

    No `coalesce(list, [])` on the nested input anywhere: after the `unnest`s each chunk's lists point into
    whole lines' vectors, which coalesce copies again for every chunk (time grows with the square of a line).
    """
    source = (
        f"read_json({quote(str(path))}, format = 'newline_delimited', columns = {_COLUMNS},"
        f" compression = {compression(gz)}, maximum_object_size = {max(longest + 1, 1 << 20)})"
    )
    # A service.name that is not a string is left to Python, as is every repeated attribute key.
    service = f"list_filter(res.resource.attributes, lambda a: {_text('a.key')} = '\"service.name\"')"
    found = f"{service}[1].value.stringValue"
    service_name = f"CASE WHEN {found} IS NULL THEN NULL ELSE {_string(found, other='NULL')} END"
    # Resource attributes are converted once per resource. Every level gives each line at least one row (an
    # empty or unreadable list gives one NULL entry, so the line is marked not good), and `first` marks the
    # line's first row: counting marks numbers the lines later, so this pass needs no row_number(), which
    # would run it on one thread.
    return (
        f"WITH r AS (SELECT resourceSpans AS rs, resourceSpans IS NOT NULL AND len(resourceSpans) > 0"
        f" AND resourceLogs IS NULL AND resourceMetrics IS NULL AS ok FROM {source}),"
        f" x AS (SELECT ok, unnest(CASE WHEN ok THEN rs ELSE [NULL] END) AS res,"
        f" unnest(CASE WHEN ok THEN range(len(rs)) ELSE [0] END) = 0 AS first FROM r),"
        f" y AS (SELECT first, coalesce(ok AND res IS NOT NULL AND len(res.scopeSpans) > 0, false) AS ok, res,"
        f" {_pieces('res.resource.attributes')} AS r_pieces, {_keys('res.resource.attributes')} AS r_keys FROM x),"
        f" z AS (SELECT ok AND list_aggregate(r_pieces, 'count') = len(r_pieces)"
        f" AND list_unique(r_keys) = len(r_keys) AS ok, array_to_string(r_pieces, ',') AS r_text, r_keys,"
        f" CASE WHEN coalesce(len({service}), 0) = 0 THEN '' ELSE {service_name}"
        f" END AS service, unnest(CASE WHEN ok THEN res.scopeSpans ELSE [NULL] END) AS sc,"
        f" first AND unnest(CASE WHEN ok THEN range(len(res.scopeSpans)) ELSE [0] END) = 0 AS first FROM y),"
        f" z2 AS (SELECT *, coalesce(sc IS NOT NULL AND len(sc.spans) > 0, false) AS spans_ok FROM z)"
        f" SELECT first AND unnest(CASE WHEN spans_ok THEN range(len(sc.spans)) ELSE [0] END) = 0 AS first,"
        f" ok AND spans_ok AS ok, r_text, r_keys, service,"
        f" unnest(CASE WHEN spans_ok THEN sc.spans ELSE [NULL] END) AS sp FROM z2"
    )


def _converted_sql(flat: str) -> str:
    """One row per span of the `flat` table: whether it is its line's first row, whether SQL converted it
    exactly (`good`), the row's columns."""
    link_trace, link_span = _id("l.traceId", TRACE_ID_WIDTH), _id("l.spanId", SPAN_ID_WIDTH)
    link = f"""'{{"trace_id":"' || ({link_trace}) || '","span_id":"' || ({link_span}) || '"}}'"""
    joined = f"array_to_string(list_transform(sp.links, lambda l: {link}), ',')"
    links = f"CASE WHEN sp.links IS NULL THEN '[]' ELSE '[' || {joined} || ']' END"
    links_ok = (
        f"sp.links IS NULL OR list_bool_and(list_transform(sp.links,"
        f" lambda l: coalesce(({link_trace}) <> '' AND ({link_span}) <> '', false)))"
    )
    # Exception attributes are converted only for spans with an exception event.
    e_keys = "list_transform(e_pieces, lambda p: p[:strpos(p, '\":')])"
    return (
        f"WITH v AS (SELECT *, {_exception_event('sp')} AS ev, {_pieces('sp.attributes')} AS s_pieces,"
        f" {_keys('sp.attributes')} AS s_keys FROM {flat}),"
        f" s AS (SELECT *, CASE WHEN ev IS NULL THEN [] ELSE {_exception_pieces('ev')} END AS e_pieces FROM v),"
        f" c AS (SELECT first, ok AND list_aggregate(s_pieces, 'count') = len(s_pieces)"
        f" AND list_unique(s_keys) = len(s_keys) AND NOT list_has_any(r_keys, s_keys) AND (ev IS NULL OR"
        f" (list_aggregate(e_pieces, 'count') = len(e_pieces) AND NOT list_has_any({e_keys}, r_keys || s_keys)))"
        f" AS ok, service, {_id('sp.traceId', TRACE_ID_WIDTH)} AS trace_id,"
        f" {_id('sp.spanId', SPAN_ID_WIDTH)} AS span_id, {_id('sp.parentSpanId', SPAN_ID_WIDTH)} AS parent_span_id,"
        f" {_string('sp.name', other=_integer_text('sp.name'))} AS name,"
        f" {_enum('sp.kind', KINDS, 'SPAN_KIND_')} AS kind, {_nanos('sp.startTimeUnixNano')} AS start_ns,"
        f" {_nanos('sp.endTimeUnixNano')} AS end_ns, {_enum('sp.status.code', STATUSES, 'STATUS_CODE_')} AS status,"
        f" {_string('sp.status.message', other=chr(39) + chr(39))} AS status_message,"
        f" '{{' || concat_ws(',', nullif(r_text, ''), nullif(array_to_string(e_pieces, ','), ''),"
        f" nullif(array_to_string(s_pieces, ','), '')) || '}}' AS attributes, {links} AS links, {links_ok} AS links_ok"
        f" FROM s)"
        f" SELECT first, coalesce(ok AND service IS NOT NULL AND trace_id <> '' AND span_id <> ''"
        f" AND parent_span_id IS NOT NULL AND name IS NOT NULL AND kind IS NOT NULL AND status IS NOT NULL"
        f" AND start_ns IS NOT NULL AND end_ns IS NOT NULL AND end_ns >= start_ns AND links_ok, false) AS good,"
        f" {_SPAN_COLUMNS} FROM c"
    )


def read_spans_with_engine(path: Path, sink: RowSink) -> set[int] | None:
    """Insert the spans of the lines SQL converts exactly; the numbers of the lines left for the per-record
    reader, or None when the whole file must go to it."""
    engine = sink.engine
    if engine is None or path.stat().st_size < ENGINE_MIN_BYTES:
        return None
    gz = is_gzip(path)
    lines, longest = line_stats(path, gz)
    if longest > MAX_BATCH_LINE_BYTES:
        return None  # the per-record reader reports the over-long line
    converted = f"WITH flat AS ({_flat_sql(path, longest, gz)}), {_converted_sql('flat').removeprefix('WITH ')}"
    with engine.scratch("incidentlens-otlp-") as scratch:
        staged = scratch / "spans.parquet"
        try:  # on a connection of its own: a failing read leaves the ingest transaction as it was
            engine.rows_apart(f"COPY ({converted}) TO {quote(str(staged))} (FORMAT parquet, COMPRESSION lz4_raw)")
        except StoreError:
            return None  # damaged, or a structure SQL does not read: the per-record reader names each problem
        # Lines numbered by counting first rows in file order (the Parquet file keeps it); DuckDB skips blank
        # lines, so when the last number falls short of the lines the file goes to the per-record reader.
        stage = (
            "(SELECT sum(CAST(first AS BIGINT)) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS line,"
            f" * FROM read_parquet({quote(str(staged))}))"
        )
        numbered, bad = engine.rows(f"SELECT max(line), list(DISTINCT line) FILTER (WHERE NOT good) FROM {stage}")[0]
        if numbered != lines:
            return None
        leftover = {int(n) for n in bad or ()}
        where = f"WHERE good AND line NOT IN (SELECT line FROM {stage} WHERE NOT good)" if leftover else "WHERE good"
        sink.bulk_insert(
            "spans",
            f"{_SPAN_COLUMNS}, source",
            f"SELECT {_SPAN_COLUMNS}, {quote(str(path) + ':')} || line FROM {stage} {where}",
        )
    return leftover
