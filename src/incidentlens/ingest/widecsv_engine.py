"""Wide CSV metrics (a time column, one column per series) read by DuckDB's own CSV reader and unpivoted in SQL
to exactly the rows of `widecsv.read_csv`.

`widecsv.py` stays the definition of what a cell means: the header (read in Python) gives the layout, each
series' name, service and labels. DuckDB reads every cell as text with explicit options (no header, the header's
delimiter, `"` quotes); SQL converts times and cells exactly as the per-record reader does, or the file goes to
it whole, which names each bad record with its line: any row it would report (an unreadable time, a cell that
is not a number, a wrong field count), long-format files, and what DuckDB's CSV parser reads differently from
Python's (blanks around a quoted field, a carriage return alone, lines near the per-record reader's length
limit, invalid UTF-8, a quote in the header) all go there.

As for the JSON readers, the file is converted in one pass on a connection of its own (a failing read cannot
abort the ingest transaction) into a Parquet file in the store's scratch folder, which the ingest transaction
inserts.
"""

from __future__ import annotations

import re
from pathlib import Path

from incidentlens.errors import StoreError
from incidentlens.ingest.common import HEAD_BYTES, MAX_LINE_BYTES, MAX_TIME_NS, is_gzip, read_head
from incidentlens.ingest.engine_files import (
    ENGINE_MIN_BYTES,
    PY_FLOAT,
    compression,
    float_kind_sql,
    float_value_sql,
    quote,
    raw_lines,
)
from incidentlens.ingest.sink import RowSink
from incidentlens.ingest.widecsv import MISSING, Layout, detect_delimiter, layout_of

__all__ = ["ENGINE_MIN_BYTES", "read_wide_csv_with_engine"]

_SPACE = " \t\n\r\x0b\x0c"  # what str.strip() removes that SQL trims too; any other blank fails the checks
# `common._ISO_RE` with the ranges `datetime.fromisoformat` checks: hours, minutes, seconds and offsets.
_ISO = (
    r"(\d{4}-\d{2}-\d{2})[T ]((?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)(?:[.,](\d{1,9}))?\s*"
    r"(Z|z|[+-](?:[01]\d|2[0-3]):?[0-5]\d|UTC)?"
)


def _trim(cell: str) -> str:
    return f"trim(coalesce({cell}, ''), {quote(_SPACE)})"


def _time_sql(x: str) -> str:
    """`common.parse_time_ns` of a trimmed text: digits by magnitude, other numbers as floats by magnitude, ISO
    8601 with its digits for the nanoseconds; NULL where Python could disagree or finds no time."""
    n = f"CAST({x} AS HUGEINT)"
    ns_int = (
        f"CASE WHEN {n} >= 100000000000000000 THEN {n} WHEN {n} >= 100000000000000 THEN {n} * 1000"
        f" WHEN {n} >= 100000000000 THEN {n} * 1000000 ELSE {n} * 1000000000 END"
    )
    f = f"CAST({x} AS DOUBLE)"
    ns_float = (
        f"CASE WHEN NOT isfinite({f}) OR abs({f}) >= 1e19 THEN NULL WHEN {f} >= 1e17 THEN trunc({f})"
        f" WHEN {f} >= 1e14 THEN trunc({f} * 1e3) WHEN {f} >= 1e11 THEN trunc({f} * 1e6)"
        f" ELSE round_even({f} * 1e9, 0) END"
    )
    m = f"regexp_extract({x}, {quote(_ISO)}, ['d', 'c', 'f', 'z'])"
    zone = (
        f"CASE WHEN coalesce({m}.z, '') IN ('', 'Z', 'z', 'UTC') THEN '+00:00'"
        f" WHEN strpos({m}.z, ':') = 0 THEN left({m}.z, 3) || ':' || right({m}.z, 2) ELSE {m}.z END"
    )
    clock = f"CASE WHEN length({m}.c) = 5 THEN {m}.c || ':00' ELSE {m}.c END"
    iso = f"TRY_CAST({m}.d || ' ' || {clock} || {zone} AS TIMESTAMPTZ)"
    ns_iso = (
        f"CASE WHEN year({iso}) > 1 AND abs(epoch({iso})) < 1e11 THEN CAST(epoch({iso}) AS HUGEINT) * 1000000000"
        f" + CAST(rpad(coalesce({m}.f, ''), 9, '0') AS BIGINT) END"
    )
    return (
        f"CASE WHEN regexp_full_match({x}, '[0-9]{{1,30}}') THEN"
        f" (CASE WHEN abs({ns_int}) <= {MAX_TIME_NS} THEN CAST({ns_int} AS BIGINT) END)"
        f" WHEN regexp_full_match({x}, {quote(PY_FLOAT)}) THEN"
        f" (CASE WHEN abs({ns_float}) < 9.223372036854775808e18 THEN CAST({ns_float} AS BIGINT) END)"
        f" WHEN regexp_full_match({x}, {quote('^' + _ISO + '$')}) THEN"
        f" (CASE WHEN abs({ns_iso}) <= {MAX_TIME_NS} THEN CAST({ns_iso} AS BIGINT) END) END"
    )


def _number_sql(x: str, delimiter: str) -> str:
    """The trimmed cell as `widecsv.parse_cell` hands it to `float`: with `;` as delimiter, a decimal comma read."""
    if delimiter != ";":
        return x
    return f"CASE WHEN regexp_full_match({x}, '[+-]?[0-9]+,[0-9]+') THEN replace({x}, ',', '.') ELSE {x} END"


def _header_line(head: str) -> tuple[int, str] | None:
    """(line number, text) of the first non-blank line, as `widecsv` finds it; None when the head cannot tell."""
    lines = head.split("\n")
    for number, line in enumerate(lines[:-1], start=1):
        if line.rstrip("\r\n").strip():
            return number, line.rstrip("\r\n")
    return None


def _odd_lines_sql(path: Path, gz: bool, delimiter: str) -> str:
    """Whether any physical line is read differently by DuckDB's CSV parser and Python's, or is near the per-record
    reader's line limit (DuckDB gives the lines whole with no delimiter and no quote)."""
    d = re.escape(delimiter)
    blanks = quote(f'(^|{d})[ \\t]+"|"[ \\t]+({d}|$)')
    return (
        f"SELECT coalesce(bool_or(strlen(line) >= {MAX_LINE_BYTES - 2} OR strpos(line, chr(13)) > 0"
        f" OR (strpos(line, '\"') > 0 AND regexp_matches(line, {blanks}))), false)"
        f" FROM {raw_lines(path, gz, MAX_LINE_BYTES)}"
    )


def _converted_sql(path: Path, gz: bool, layout: Layout, skip: int, delimiter: str) -> str:
    """One row per value cell: whether SQL converted its row exactly (`good`), its series (1-based), time, value."""
    width = len(layout.header)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    source = (
        f"read_csv({quote(str(path))}, columns = {columns}, header = false, skip = {skip},"
        f" delim = {quote(delimiter)}, quote = '\"', escape = '\"', auto_detect = false, strict_mode = true,"
        f" null_padding = false, compression = {compression(gz)}, max_line_size = {MAX_LINE_BYTES + 1024})"
    )
    repeated = " AND ".join(f"coalesce(c{i}, '') = {quote(cell)}" for i, cell in enumerate(layout.header))
    cells = ", ".join(f"c{s.index}" for s in layout.series)
    kind = float_kind_sql("x", missing=tuple(sorted(MISSING)))
    return (
        f"WITH r AS (SELECT {_trim(f'c{layout.time_index}')} AS t, [{cells}] AS cells FROM {source}"
        f" WHERE NOT ({repeated})),"
        f" q AS (SELECT {_time_sql('t')} AS ts_ns, cells FROM r),"  # once per row, before the cells are unnested
        f" s AS (SELECT ts_ns, unnest(range(1, {len(layout.series) + 1})) AS k, unnest(cells) AS cell FROM q),"
        f" v AS (SELECT ts_ns, k, {_number_sql(_trim('cell'), delimiter)} AS x FROM s),"
        f" w AS (SELECT ts_ns, k, x, {kind} AS kind FROM v)"
        f" SELECT ts_ns IS NOT NULL AND kind <> 0 AS good, k, ts_ns, kind > 0 AS present,"
        f" {float_value_sql('x', 'kind')} AS value FROM w"
    )


def read_wide_csv_with_engine(path: Path, sink: RowSink) -> bool:
    """Insert every row of a wide CSV file SQL converts exactly; False (nothing inserted) when the file must go
    to the per-record reader whole."""
    engine = sink.engine
    if engine is None or path.stat().st_size < ENGINE_MIN_BYTES:
        return False
    head = read_head(path)
    found = _header_line(head) if len(head) < HEAD_BYTES or "\n" in head else None
    if found is None or "\r" in head.replace("\r\n", "\n"):
        return False
    line, first = found
    first = first.lstrip("\ufeff")
    delimiter = detect_delimiter(first)
    header = first.split(delimiter)
    layout = layout_of(header)
    if '"' in first or layout is None or layout.value_index is not None or not layout.series:
        return False  # quoted header cells, no time column, long format: the per-record reader
    gz = is_gzip(path)
    converted = _converted_sql(path, gz, layout, line, delimiter)
    with engine.scratch("incidentlens-widecsv-") as scratch:
        staged = scratch / "cells.parquet"
        try:  # on a connection of its own: a failing read leaves the ingest transaction as it was
            if engine.rows_apart(_odd_lines_sql(path, gz, delimiter))[0][0]:
                return False
            engine.rows_apart(f"COPY ({converted}) TO {quote(str(staged))} (FORMAT parquet, COMPRESSION lz4_raw)")
        except StoreError:
            return False  # damaged, a wrong field count, not UTF-8: the per-record reader names each problem
        stage = f"read_parquet({quote(str(staged))})"
        if engine.rows(f"SELECT count(*) FROM {stage} WHERE NOT good")[0][0]:
            return False
        series = layout.series
        names = "[" + ", ".join(quote(s.name) for s in series) + "]"
        services = "[" + ", ".join(quote(s.service) for s in series) + "]"
        labels = "[" + ", ".join(quote(s.labels) for s in series) + "]"
        sink.bulk_insert(
            "metrics",
            "ts_ns, service, name, labels, value, source",
            f"SELECT ts_ns, {services}[k], {names}[k], {labels}[k], value, {quote(str(path))} FROM {stage}"
            f" WHERE present",
        )
    return True
