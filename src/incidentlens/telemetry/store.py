"""The telemetry store: one DuckDB file per workspace, written atomically per ingest."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from incidentlens.errors import StoreError
from incidentlens.ingest.sink import RowSink, TableBuffer
from incidentlens.telemetry.schema import TABLES, create_table_sql

TELEMETRY_FILE = "telemetry.duckdb"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)\s*$", re.IGNORECASE)


def _size(text: str) -> str:
    """A DuckDB memory size ("512MB", "2GiB"); anything else is a StoreError naming the value."""
    match = _SIZE.match(text)
    if match is None:
        raise StoreError(f"memory limit {text!r} is not a size like 512MB or 2GB")
    return f"{match[1]}{match[2].upper().replace('I', 'i')}"


class TelemetryStore:
    """Tables `logs`, `spans`, `metrics`, `alerts`, `changes` (see `schema.py`) in one DuckDB database.

    `path=None` keeps everything in memory, which investigations of a single bundle use by default.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        memory_limit: str = "",
        spill_dir: Path | None = None,
        disposable: bool = False,
    ) -> None:
        """`memory_limit` (DuckDB's, e.g. "1GB"; empty: DuckDB's default) bounds the engine's memory; beyond it
        sorts, joins and aggregations spill to `spill_dir`, and an on-disk store evicts table data to its file.
        A `disposable` file is removed after use, so closing it skips the final checkpoint (seconds on a big one)."""
        self.path = path
        self.spill_dir = spill_dir
        self._disposable = disposable
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(str(path) if path is not None else ":memory:")
            self._con.execute("SET enable_progress_bar = false")  # it would draw on stdout, where briefs go
            # DuckDB's default, stated because the engine readers rely on it: a query's rows are stored, and
            # written to files, in the order its input had, so they number lines by that order.
            self._con.execute("SET preserve_insertion_order = true")
            if memory_limit:
                self._con.execute(f"SET memory_limit = '{_size(memory_limit)}'")
            if spill_dir is not None:
                spill_dir.mkdir(parents=True, exist_ok=True)
                self._con.execute("SET temp_directory = ?", [str(spill_dir)])
            for table in TABLES:
                self._con.execute(create_table_sql(table))
        except (duckdb.Error, OSError) as exc:
            raise StoreError(f"cannot open telemetry store {path or ':memory:'}: {exc}") from None
        self._in_transaction = False

    @contextmanager
    def scratch(self, prefix: str) -> Iterator[Path]:
        """A folder for staging files, removed afterwards: beside the spill files when the store has a spill
        folder (the workspace of a big investigation), so big staging never lands in a small system temp."""
        with tempfile.TemporaryDirectory(prefix=prefix, dir=self.spill_dir) as folder:
            yield Path(folder)

    @classmethod
    def in_workspace(cls, workspace: Path) -> TelemetryStore:
        return cls(workspace / TELEMETRY_FILE)

    @property
    def name(self) -> str:
        return str(self.path) if self.path is not None else ":memory:"

    def close(self) -> None:
        try:
            if self._disposable:
                self._con.execute("PRAGMA disable_checkpoint_on_shutdown")
            self._con.close()  # a file store checkpoints here: the disk may be full or read-only by now
        except duckdb.Error as exc:
            raise StoreError(f"cannot close telemetry store {self.name}: {exc}") from None

    def __enter__(self) -> TelemetryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All appends inside commit together or not at all."""
        if self._in_transaction:
            yield
            return
        self._statement("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            with suppress(duckdb.Error):  # the original error says what went wrong; a failed rollback adds nothing
                self._con.execute("ROLLBACK")
            raise
        else:
            try:
                self._con.execute("COMMIT")
            except duckdb.Error as exc:  # e.g. no space left for the WAL: DuckDB keeps the store as before
                with suppress(duckdb.Error):
                    self._con.execute("ROLLBACK")
                raise StoreError(f"cannot write telemetry store {self.name}; nothing was added: {exc}") from None
        finally:
            self._in_transaction = False

    def _statement(self, sql: str) -> None:
        try:
            self._con.execute(sql)
        except duckdb.Error as exc:
            raise StoreError(f"telemetry store {self.name}: {exc}") from None

    def append(self, sink: RowSink) -> dict[str, int]:
        """Insert every buffered row of the sink, then clear it; returns rows added per table."""
        added: dict[str, int] = {}
        with self.transaction():
            for table, buffer in sink.buffers.items():
                n = self.append_buffer(buffer)
                if n:
                    added[table] = n
        return added

    def append_buffer(self, buffer: TableBuffer) -> int:
        """Insert one table buffer's rows and empty it (inside the caller's transaction, if any)."""
        n = len(buffer)
        if not n:
            return 0
        batch = buffer.to_arrays()  # noqa: F841 - DuckDB scans this local by name
        names = ", ".join(f'"{c.name}"' for c in buffer.columns)
        try:
            self._con.execute(f'INSERT INTO "{buffer.table}" ({names}) SELECT {names} FROM batch')
        except duckdb.Error as exc:
            raise StoreError(f"cannot write {n} rows to {buffer.table} in {self.name}: {exc}") from None
        buffer.written += n
        buffer.clear()
        return n

    def attach_copy(self, path: Path) -> dict[str, int]:
        """Copy every table of another store file (read-only) into this one; rows copied per table."""
        try:
            self._con.execute("ATTACH ? AS other (READ_ONLY)", [str(path)])
        except duckdb.Error as exc:
            raise StoreError(f"cannot open telemetry store {path}: {exc}") from None
        try:
            with self.transaction():
                for table in TABLES:
                    self.execute(f'INSERT INTO "{table}" SELECT * FROM other."{table}"')
        finally:
            self._con.execute("DETACH other")
        return self.counts()

    def insert_select(self, table: str, columns: str, select_sql: str) -> int:
        """INSERT INTO table (columns) <select_sql> inside the caller's transaction; rows inserted."""
        try:
            result = self._con.execute(f'INSERT INTO "{table}" ({columns}) {select_sql}').fetchone()
        except duckdb.Error as exc:
            raise StoreError(f"cannot write rows to {table}: {exc}") from None
        return int(result[0]) if result else 0

    def rows_apart(self, sql: str) -> list[tuple[Any, ...]]:
        """A query over files on a connection of its own: its failure cannot abort the caller's transaction."""
        cursor = self._con.cursor()
        try:
            return cursor.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"telemetry query failed: {exc}") from None
        finally:
            cursor.close()

    def counts(self) -> dict[str, int]:
        return {t: int(self.scalar(f'SELECT count(*) FROM "{t}"') or 0) for t in TABLES}

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._con.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"telemetry query failed: {exc}") from None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        result = self.rows(sql, params)
        return result[0][0] if result else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            self._con.execute(sql, list(params))
        except duckdb.Error as exc:
            raise StoreError(f"telemetry statement failed: {exc}") from None
