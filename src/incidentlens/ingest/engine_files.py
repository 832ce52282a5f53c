"""What the readers that hand whole files to DuckDB share: SQL quoting, gzip, line counts, the size floor."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

from incidentlens.errors import StoreError

# Below this size the per-record readers are about as fast as planning the SQL (0.1-0.2 s a file).
ENGINE_MIN_BYTES = 256 << 10
_BLOCK = 1 << 24


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def compression(gz: bool) -> str:
    """The `compression` argument of DuckDB's file readers (`gz` from `common.is_gzip`: by content, not name)."""
    return quote("gzip" if gz else "none")


def line_count(path: Path, gz: bool) -> int:
    """Physical lines (a last line without newline counts), read in large blocks: no object per line."""
    n, last = 0, b"\n"
    with gzip.open(path, "rb") if gz else path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


def line_stats(path: Path, gz: bool) -> tuple[int, int]:
    """(physical lines, bytes of the longest line): DuckDB's JSON reader needs the longest object's size, and
    holds buffers of about that size per thread, so it gets what the file needs, not a fixed maximum.

    A Python step per line: meant for files of few long lines (OTLP export batches); `line_count` counts
    short-line files without one."""
    n, longest, current = 0, 0, 0
    with gzip.open(path, "rb") if gz else path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            start = 0
            while (end := block.find(b"\n", start)) >= 0:
                longest = max(longest, current + end - start)
                current, start, n = 0, end + 1, n + 1
            current += len(block) - start
    if current:
        n, longest = n + 1, max(longest, current)
    return n, longest


def pick_lines(path: Path, gz: bool, wanted: Iterator[int]) -> Iterator[tuple[int, str]]:
    """(number, text) of the wanted lines (ascending), read in large blocks: lines between cost no Python step
    each. The text is as `common.iter_lines` gives it; DuckDB has read the file, so it is valid UTF-8."""
    want = next(wanted, None)
    first, carry = 1, b""  # the number of the first line in `carry`
    with gzip.open(path, "rb") if gz else path.open("rb") as fh:
        while want is not None:
            block = fh.read(_BLOCK)
            data = carry + block
            if block:
                cut = data.rfind(b"\n") + 1
                whole, carry = data[:cut], data[cut:]
                count = whole.count(b"\n")
            else:
                whole, carry = data, b""
                count = whole.count(b"\n") + (bool(whole) and not whole.endswith(b"\n"))
            lines: list[bytes] | None = None
            while want is not None and want < first + count:
                if lines is None:
                    lines = whole.split(b"\n")
                yield want, lines[want - first].decode("utf-8").rstrip("\r\n")
                want = next(wanted, None)
            first += count
            if not block and want is not None:
                raise StoreError(f"{path} changed while it was read: line {want} is gone")


# Python's `float` syntax without blanks, underscores and the NaN/Infinity words (which come apart).
PY_FLOAT = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
_NAN = "('nan', '+nan', '-nan')"
_INF = "('inf', '+inf', 'infinity', '+infinity')"
_MINUS_INF = "('-inf', '-infinity')"


def float_kind_sql(x: str, *, missing: tuple[str, ...] = ()) -> str:
    """What Python's `float` makes of the text `x` (no blanks around it), as an SQL kind: -1 one of the `missing`
    words (lower case) or empty, when given; 1 a number; 2 NaN; 3 +Infinity; 4 -Infinity; 0 text `float` refuses
    or could read differently from DuckDB (SQL leaves it to Python). Numbers are tried first: most texts are."""
    empty = f"WHEN {x} = '' THEN -1 " if missing else ""
    words = " WHEN lower({x}) IN (" + ", ".join(quote(m) for m in missing) + ") THEN -1" if missing else ""
    return (
        f"CASE {empty}WHEN regexp_full_match({x}, {quote(PY_FLOAT)}) AND TRY_CAST({x} AS DOUBLE) IS NOT NULL THEN 1"
        f"{words.format(x=x)} WHEN lower({x}) IN {_NAN} THEN 2 WHEN lower({x}) IN {_INF} THEN 3"
        f" WHEN lower({x}) IN {_MINUS_INF} THEN 4 ELSE 0 END"
    )


def float_value_sql(x: str, kind: str) -> str:
    """The double of a text of `float_kind_sql` kind `kind`: NULL for NaN (the store's missing value), and for
    kinds that are not numbers."""
    return (
        f"CASE {kind} WHEN 1 THEN TRY_CAST({x} AS DOUBLE) WHEN 3 THEN CAST('inf' AS DOUBLE)"
        f" WHEN 4 THEN CAST('-inf' AS DOUBLE) END"
    )


def text_size(path: Path, gz: bool) -> int:
    """Bytes of the file's text (gunzipped, read in large blocks, when `gz`): the size of a one-document file's
    object for DuckDB's JSON reader."""
    if not gz:
        return path.stat().st_size
    total = 0
    with gzip.open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            total += len(block)
    return total


def raw_lines(path: Path, gz: bool, longest: int) -> str:
    """The file's physical lines as DuckDB's CSV reader gives them with no delimiter and no quote (column
    `line`, NULL for a blank line; carriage returns before newlines dropped), gzip or not: raw text to check."""
    return (
        f"read_csv({quote(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = '', quote = '',"
        f" escape = '', auto_detect = false, compression = {compression(gz)}, max_line_size = {longest + 1024})"
    )
