"""What the readers that hand whole files to DuckDB share: SQL quoting, gzip, line counts, the size floor."""

from __future__ import annotations

import gzip
from pathlib import Path

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
