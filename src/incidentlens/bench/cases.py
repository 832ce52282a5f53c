"""What a benchmark case is: the truth (kept for scoring only) and a loader that fills a telemetry store.

Loaders only convert formats: they write telemetry rows and return the periods the dataset defines
(normal period, incident, alert time). Nothing from the ground truth reaches the store.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable
from dataclasses import dataclass

from incidentlens.analyze.windows import Windows
from incidentlens.errors import StoreError
from incidentlens.ingest.common import MAX_LINE_BYTES
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.telemetry.store import TelemetryStore

MAX_REJECTS_REPORTED = 20


@dataclass(frozen=True, slots=True)
class Truth:
    """Ground truth of one case; only the scorer reads it."""

    service: str
    fault_type: str
    inner_label: str = ""


@dataclass(frozen=True, slots=True)
class Loaded:
    """Periods a dataset defines for one case, given to `investigate` instead of detected ones."""

    windows: Windows
    metric_baseline: TimeRange | None = None
    notes: tuple[str, ...] = ()


Loader = Callable[[TelemetryStore, RowSink], Loaded]


@dataclass(frozen=True, slots=True)
class BenchCase:
    case_id: str
    system: str
    truth: Truth
    load: Loader


def alert_row(sink: RowSink, *, starts_ns: int, source: str) -> None:
    """The alert a benchmark case starts from: a time and nothing about the cause."""
    sink.alerts.add(
        starts_ns=starts_ns,
        ends_ns=0,
        name="benchmark incident",
        service="",
        severity="unknown",
        status="firing",
        fingerprint="",
        summary="incident reported at the dataset's alert time",
        labels="{}",
        source=source,
    )


def _header(path: str) -> bytes:
    """First line of a (possibly gzip-compressed) file, to tell whether files share one layout."""
    try:
        with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as fh:
            return bytes(fh.readline(1 << 16)).strip()
    except (OSError, EOFError) as exc:
        return f"unreadable: {exc}".encode()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def stage_csv(store: TelemetryStore, sink: RowSink, table: str, files: list[str]) -> None:
    """CSV files (every column VARCHAR) into temporary `table`, plus `filename` and `line` columns.

    DuckDB's strict reader does the work when the files parse; a file it rejects (an interleaved or
    truncated record) is read with the csv module instead, so each bad line is a problem and the
    rest of the file is kept. Files with different headers are combined by column name.
    """
    select = "SELECT *, row_number() OVER (PARTITION BY filename) + 1 AS line FROM read_csv($1, {opts})"
    # The dialect is given: the sniffer takes a file with one broken record for a tab-separated one.
    opts = "header=true, all_varchar=true, filename=true, delim=',', quote='\"', escape='\"'"
    if len({_header(f) for f in files}) == 1:
        try:
            store.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS " + select.format(opts=opts), [files])
            return
        except StoreError:
            pass  # some file does not parse strictly: handled one by one below
    parts: list[str] = []
    for i, path in enumerate(files):
        part = f"{table}_part{i}"
        try:
            store.execute(f"CREATE OR REPLACE TEMP TABLE {part} AS " + select.format(opts=opts), [path])
        except StoreError:
            if not _stage_with_csv_module(store, sink, part, path):
                continue
        parts.append(part)
    if not parts:
        store.execute(f"CREATE OR REPLACE TEMP TABLE {table} (filename VARCHAR, line BIGINT)")
        return
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM {p}" for p in parts)
    store.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {union}")
    for part in parts:
        store.execute(f"DROP TABLE {part}")


def _stage_with_csv_module(store: TelemetryStore, sink: RowSink, table: str, path: str) -> bool:
    """The slow, forgiving path for one file; False when not even a header could be read."""
    csv.field_size_limit(MAX_LINE_BYTES)
    columns: list[list[str]] = []
    lines: list[int] = []
    try:
        with (
            gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
            if path.endswith(".gz")
            else open(path, encoding="utf-8", errors="replace", newline="") as fh
        ):
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                sink.problem(path, "no header line")
                return False
            columns = [[] for _ in header]
            try:
                for row in reader:
                    if len(row) != len(header):
                        sink.problem(path, f"{len(row)} fields, the header has {len(header)}", line=reader.line_num)
                        continue
                    for values, cell in zip(columns, row, strict=True):
                        values.append(cell)
                    lines.append(reader.line_num)
            except csv.Error as exc:
                sink.problem(path, f"unreadable CSV from here on ({exc})", line=reader.line_num)
    except (OSError, EOFError) as exc:
        sink.problem(path, f"cannot read ({exc})")
        return False
    cells = ", ".join(f"unnest(${i + 1}::VARCHAR[]) AS {_quote(name)}" for i, name in enumerate(header))
    n = len(header)
    store.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {cells}, ${n + 1}::VARCHAR AS filename,"
        f" unnest(${n + 2}::BIGINT[]) AS line",
        [*columns, path, lines],
    )
    return True


def report_unparsed(store: TelemetryStore, sink: RowSink, table: str, where: str, reason: str) -> None:
    """Problems for staged rows that fail `where`'s opposite: `file`, `line` columns name the record."""
    for path, line in store.rows(
        f"SELECT filename, line FROM {table} WHERE NOT ({where}) ORDER BY filename, line LIMIT {MAX_REJECTS_REPORTED}"
    ):
        sink.problem(str(path), reason, line=int(line))
    extra = int(store.scalar(f"SELECT count(*) FROM {table} WHERE NOT ({where})") or 0) - MAX_REJECTS_REPORTED
    sink.problem_count += max(extra, 0)  # counted, not kept: the first ones show where to look
