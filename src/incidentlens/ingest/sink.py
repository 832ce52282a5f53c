"""Where readers put rows: columnar buffers per table, plus the problems found on the way.

A reader never raises for one bad record: it calls `problem()` and keeps going, so every valid
record survives. Only a file with no valid record at all becomes a FormatError (in `runner`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from incidentlens.errors import FormatError
from incidentlens.telemetry.schema import TABLES, ColumnType

MAX_PROBLEMS_KEPT = 50
MOSTLY_PROBLEMS = 5_000  # more problems than this before as many good rows: over half of the first 10,000


@dataclass(frozen=True, slots=True)
class Problem:
    """One record we could not use: where it is and why."""

    path: str
    reason: str
    line: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        elif self.offset is not None:
            where += f" (byte {self.offset})"
        return f"{where}: {self.reason}"


FLUSH_ROWS = 100_000


class SqlEngine(Protocol):
    """The store's SQL engine, for readers that let DuckDB read a whole file (see `jsonlogs_engine`).

    Errors are `StoreError`. Rows inserted this way count as written rows of the sink's buffer.
    """

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def insert_select(self, table: str, columns: str, select_sql: str) -> int:
        """INSERT INTO table (columns) <select_sql>; the number of rows inserted."""
        ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def rows_apart(self, sql: str) -> list[tuple[Any, ...]]:
        """A query over files on a connection of its own: its failure cannot abort the caller's transaction."""
        ...

    def scratch(self, prefix: str) -> AbstractContextManager[Path]:
        """A folder for staging files, removed on exit (beside the store's spill files when it has them)."""
        ...


class TableBuffer:
    """Column lists for one table; `add` takes keyword columns, missing ones get the column default.

    With a flusher attached, every `FLUSH_ROWS` rows are handed over and the lists emptied, so a huge
    file never sits whole in Python lists.
    """

    def __init__(self, table: str) -> None:
        self.table = table
        self.flusher: Callable[[TableBuffer], object] | None = None
        self.written = 0
        self.columns = TABLES[table]
        self._data: dict[str, list[Any]] = {c.name: [] for c in self.columns}
        self._defaults: dict[str, Any] = {
            c.name: (0 if c.type is ColumnType.INT else None if c.type is ColumnType.FLOAT else "")
            for c in self.columns
        }

    def __len__(self) -> int:
        return len(self._data[self.columns[0].name])

    def add(self, **row: Any) -> None:
        """Append one row; `None` and omitted columns become the column default when converted."""
        n = len(self)
        data = self._data
        for name, value in row.items():
            column = data.get(name)
            if column is None:
                raise KeyError(f"unknown column for {self.table}: {name!r}")
            column.append(value)
        if len(row) != len(data):
            for values in data.values():
                if len(values) == n:
                    values.append(None)
        if n + 1 >= FLUSH_ROWS and self.flusher is not None:
            self.flusher(self)

    @property
    def total(self) -> int:
        """Rows added so far, flushed or not."""
        return self.written + len(self)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Numpy columns DuckDB can scan without a Python object per row on its side."""
        arrays: dict[str, np.ndarray] = {}
        for col in self.columns:
            values = self._data[col.name]
            if col.type is ColumnType.FLOAT:
                arrays[col.name] = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
                continue
            default = self._defaults[col.name]
            if any(v is None for v in values):
                values = [default if v is None else v for v in values]
            arrays[col.name] = np.asarray(values, dtype=np.int64 if col.type is ColumnType.INT else object)
        return arrays

    def clear(self) -> None:
        for values in self._data.values():
            values.clear()


@dataclass
class RowSink:
    """Buffers for every table plus the problems of one ingest."""

    buffers: dict[str, TableBuffer] = field(default_factory=lambda: {t: TableBuffer(t) for t in TABLES})
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    require_time: bool = False  # an investigation cannot place a record without a time: it is a problem
    _kept_per_path: dict[str, int] = field(default_factory=dict)
    _watched: tuple[str, int, int] | None = None  # (path, rows before it, problems before it)
    engine: SqlEngine | None = None  # set when rows go to a store whose engine may read files itself

    @property
    def logs(self) -> TableBuffer:
        return self.buffers["logs"]

    @property
    def spans(self) -> TableBuffer:
        return self.buffers["spans"]

    @property
    def metrics(self) -> TableBuffer:
        return self.buffers["metrics"]

    @property
    def alerts(self) -> TableBuffer:
        return self.buffers["alerts"]

    @property
    def changes(self) -> TableBuffer:
        return self.buffers["changes"]

    def watch(self, path: str) -> None:
        """Start reading `path`: from now on, a file that is mostly problems stops early (see `problem`)."""
        self._watched = (path, self.row_count(), self.problem_count)

    def problem(self, path: str, reason: str, *, line: int | None = None, offset: int | None = None) -> None:
        """Count a bad record; keep the first few of each file (or source) for the report.

        A watched file whose first records are mostly problems (more than `MOSTLY_PROBLEMS` before as many
        good rows) raises FormatError at once: it is not the format we took it for, and reading on would
        spend minutes on noise.
        """
        self.problem_count += 1
        kept = self._kept_per_path.get(path, 0)
        if kept < MAX_PROBLEMS_KEPT:
            self._kept_per_path[path] = kept + 1
            self.problems.append(Problem(path, reason, line, offset))
        if self._watched is not None and self._watched[0] == path:
            bad = self.problem_count - self._watched[2]
            good = self.row_count() - self._watched[1]
            if bad == MOSTLY_PROBLEMS + 1 and good < bad:
                first = next((p for p in self.problems if p.path == path), None)
                raise FormatError(
                    path,
                    f"stopped early: {bad} of its first {bad + good} records are problems, so it is not "
                    f"telemetry we can read (first: {first.reason if first else reason})",
                )

    def row_count(self) -> int:
        return sum(b.total for b in self.buffers.values())

    def counts(self) -> dict[str, int]:
        return {t: b.total for t, b in self.buffers.items()}

    def attach(self, flusher: Callable[[TableBuffer], object], engine: SqlEngine | None = None) -> None:
        """Flush full buffers through `flusher`; with `engine`, readers may insert whole files through it."""
        for buffer in self.buffers.values():
            buffer.flusher = flusher
        self.engine = engine

    def bulk_insert(self, table: str, columns: str, select_sql: str) -> int:
        """Rows the engine inserted from a query, counted as this sink's rows (needs `engine`)."""
        assert self.engine is not None
        n = self.engine.insert_select(table, columns, select_sql)
        self.buffers[table].written += n
        return n
