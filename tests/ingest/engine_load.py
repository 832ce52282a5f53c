"""Loading one file with or without a DuckDB file reader, for the tests that require both give the same rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentlens.errors import FormatError
from incidentlens.ingest.runner import read_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.telemetry.store import TelemetryStore


@dataclass(frozen=True)
class Loaded:
    rows: list[tuple[Any, ...]]  # what `queries` returned, in order
    problems: list[str]  # the reported problems, or the error that refused the file
    by_python: int  # rows of `table` the per-record reader made (small files are never flushed)


def load(
    path: Path,
    *,
    forced_format: str,
    table: str,
    queries: tuple[str, ...],
    engine: bool,
    store_path: Path | None = None,
) -> Loaded:
    """Read `path` as `forced_format` into a fresh store (on disk, held to 1 GB, with `store_path`: as
    investigations of big inputs do) and run `queries`; `engine=False` keeps DuckDB's readers out."""
    limit = "1GB" if store_path is not None else ""
    with TelemetryStore(store_path, memory_limit=limit) as store, store.transaction():
        sink = RowSink()
        sink.attach(store.append_buffer, store if engine else None)
        try:
            report = read_paths([path], sink, forced_format=forced_format)
        except FormatError as exc:
            return Loaded([], [str(exc)], 0)
        by_python = len(getattr(sink, table))
        store.append(sink)
        rows = [row for sql in queries for row in store.rows(sql)]
    return Loaded(rows, [str(p) for f in report.files for p in f.problems], by_python)
