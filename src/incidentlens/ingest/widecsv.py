"""Metrics as CSV (wide or long, plain or gzip, comma/tab/semicolon) -> metric rows, streamed.

Time column: the first header cell named time, timestamp, ts, date, datetime, _time, @timestamp, epoch,
unix_time, time_ms, time_ns, timestamp_ms or timestamp_ns (any case); values are ISO 8601 / RFC 3339
(no zone means UTC) or epoch seconds, ms, us or ns (told apart by magnitude).

Long format: the header has a `value` column and a `name`/`metric`/`metric_name`/`__name__`/`series`
column and/or a `service`/`service_name` column. Each row is one sample; a missing name is "value"; the
remaining columns are the labels; without a service column the service comes from
`prometheus.service_from_labels(labels)`.

Wide format (anything else): every other column is one series and its name is the column name.
`cpu{service="cart",pod="p"}` is parsed as name `cpu` with those labels (service from the labels).
Otherwise the service is the text before the first `_` only when at least two columns share that prefix
and the rest is non-empty (`cart_cpu`, `cart_mem` -> service `cart`); else it is "". Names never change.

Cells: empty, `null`, `none`, `na`, `n/a` and `-` (any case) are missing values: no row, no problem.
`NaN` is a row with a NULL value; `Inf`/`-Inf` are infinities; with `;` as delimiter a decimal comma
(`1,5`) is accepted. A cell that is not a number is a problem (line, column) and only that cell is
dropped: the row's other cells are kept. A row whose time is unreadable, or whose field count differs
from the header's, is a problem and dropped whole. A repeated header line (concatenated files) is skipped.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from incidentlens.errors import FormatError
from incidentlens.ingest.common import dumps, iter_lines, parse_time_ns
from incidentlens.ingest.prometheus import service_from_labels
from incidentlens.ingest.sink import RowSink

TIME_COLUMNS = frozenset(
    {
        "time",
        "timestamp",
        "ts",
        "date",
        "datetime",
        "_time",
        "@timestamp",
        "epoch",
        "unix_time",
        "time_ms",
        "time_ns",
        "timestamp_ms",
        "timestamp_ns",
    }
)
_NAME_COLUMNS = ("name", "metric", "metric_name", "__name__", "series")
_SERVICE_COLUMNS = ("service", "service_name", "service.name")
MISSING = frozenset({"", "null", "none", "na", "n/a", "-"})
_DELIMITERS = (",", "\t", ";")
_LABELLED_RE = re.compile(r"^([^{]*)\{(.*)\}$")
_LABEL_RE = re.compile(r'\s*([A-Za-z_][\w.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_DECIMAL_COMMA_RE = re.compile(r"^[+-]?\d+,\d+$")


@dataclass(frozen=True, slots=True)
class _Series:
    """One value column of a wide file."""

    index: int
    name: str
    service: str
    labels: str


@dataclass(frozen=True, slots=True)
class Layout:
    """What the header says: the time column, long-format columns or the wide series."""

    header: tuple[str, ...]
    time_index: int
    value_index: int | None  # set for long format
    name_index: int | None
    service_index: int | None
    series: tuple[_Series, ...]


def detect_delimiter(line: str) -> str:
    """The most frequent of comma, tab and semicolon in the header line (comma on a tie)."""
    counts = {d: line.count(d) for d in _DELIMITERS}
    return max(_DELIMITERS, key=lambda d: counts[d])


def time_column(header: Iterable[str]) -> int | None:
    """Index of the first time-like header cell, or None."""
    for index, cell in enumerate(header):
        if cell.strip().lower() in TIME_COLUMNS:
            return index
    return None


def parse_labels(column: str) -> tuple[str, dict[str, str]] | None:
    """`cpu{service="cart",pod="x"}` -> ("cpu", {...}); None when the column has no valid label set."""
    match = _LABELLED_RE.match(column.strip())
    if not match:
        return None
    body = match.group(2).strip()
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        pair = _LABEL_RE.match(body, pos)
        if not pair:
            return None
        labels[pair.group(1)] = re.sub(r"\\(.)", r"\1", pair.group(2))
        pos = pair.end()
    return match.group(1).strip() or "value", labels


def layout_of(header: list[str]) -> Layout | None:
    """The file's layout from its header cells; None without a time column."""
    time_index = time_column(header)
    if time_index is None:
        return None
    lowered = [cell.strip().lower() for cell in header]

    def find(names: tuple[str, ...]) -> int | None:
        return next((i for i, cell in enumerate(lowered) if cell in names and i != time_index), None)

    value_index, name_index, service_index = find(("value",)), find(_NAME_COLUMNS), find(_SERVICE_COLUMNS)
    if value_index is not None and (name_index is not None or service_index is not None):
        return Layout(tuple(header), time_index, value_index, name_index, service_index, ())
    columns = [(i, cell.strip()) for i, cell in enumerate(header) if i != time_index]
    prefixes = Counter(
        cell.split("_", 1)[0] for _, cell in columns if "_" in cell.strip("_") and parse_labels(cell) is None
    )
    series: list[_Series] = []
    for index, cell in columns:
        labelled = parse_labels(cell)
        if labelled is not None:
            name, labels = labelled
            series.append(_Series(index, name, service_from_labels(labels), dumps(labels)))
            continue
        prefix, _, rest = cell.partition("_")
        service = prefix if prefix and rest and prefixes[prefix] >= 2 else ""
        series.append(_Series(index, cell, service, "{}"))
    return Layout(tuple(header), time_index, None, None, None, tuple(series))


def parse_cell(cell: str, delimiter: str) -> tuple[bool, float | None]:
    """(present, value) of one cell; raises ValueError for text that is not a number."""
    text = cell.strip()
    if text.lower() in MISSING:
        return False, None
    if delimiter == ";" and _DECIMAL_COMMA_RE.match(text):
        text = text.replace(",", ".")
    if "_" in text:  # float() accepts "1_000"; a CSV value with underscores is not a number
        raise ValueError(text)
    number = float(text)
    return True, None if math.isnan(number) else number


class _LineTracker:
    """Feeds csv.reader numbered lines and remembers the number of the last one consumed."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self._lines = lines
        self.lineno = 0

    def __iter__(self) -> Iterator[str]:
        for lineno, text in self._lines:
            self.lineno = lineno
            yield text + "\n"


def _rows(path: Path, sink: RowSink) -> Iterator[tuple[int, list[str], str]]:
    """(line, fields, delimiter) of each CSV record; csv errors are problems, not aborts."""
    tracker = _LineTracker(iter_lines(path, sink))
    lines = iter(tracker)
    first = next((text for text in lines if text.strip()), None)
    if first is None:
        return
    first = first.lstrip("\ufeff")
    delimiter = detect_delimiter(first)
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as exc:
        raise FormatError(str(path), f"unreadable CSV header: {exc}", line=tracker.lineno) from None
    yield tracker.lineno, header, delimiter
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            sink.problem(str(path), f"unreadable CSV record: {exc}", line=tracker.lineno)
            continue
        yield tracker.lineno, fields, delimiter


def read_csv(path: Path, sink: RowSink) -> None:
    """Stream the file's records into metric rows (see the module docstring for every rule)."""
    rows = _rows(path, sink)
    first = next(rows, None)
    if first is None:
        raise FormatError(str(path), "empty file: no CSV header")
    header_line, header, delimiter = first
    layout = layout_of(header)
    if layout is None:
        raise FormatError(str(path), f"no time column in the header {header[:8]}", line=header_line)
    source = str(path)
    for lineno, fields, _ in rows:
        if not fields or fields == list(layout.header):
            continue
        if len(fields) != len(layout.header):
            sink.problem(source, f"{len(fields)} fields, the header has {len(layout.header)}", line=lineno)
            continue
        ts_ns = parse_time_ns(fields[layout.time_index])
        if ts_ns is None:
            sink.problem(source, f"time {fields[layout.time_index][:40]!r} is not a time", line=lineno)
            continue
        if layout.value_index is not None:
            _add_long(layout, layout.value_index, fields, ts_ns, delimiter, sink, source, lineno)
        else:
            _add_wide(layout, fields, ts_ns, delimiter, sink, source, lineno)


def _add_wide(
    layout: Layout, fields: list[str], ts_ns: int, delimiter: str, sink: RowSink, source: str, line: int
) -> None:
    for series in layout.series:
        try:
            present, value = parse_cell(fields[series.index], delimiter)
        except ValueError:
            cell = fields[series.index].strip()[:40]
            sink.problem(source, f"column {series.name!r}: {cell!r} is not a number", line=line)
            continue
        if present:
            sink.metrics.add(
                ts_ns=ts_ns,
                service=series.service,
                name=series.name,
                labels=series.labels,
                value=value,
                source=source,
            )


def _add_long(
    layout: Layout,
    value_index: int,
    fields: list[str],
    ts_ns: int,
    delimiter: str,
    sink: RowSink,
    source: str,
    line: int,
) -> None:
    try:
        present, value = parse_cell(fields[value_index], delimiter)
    except ValueError:
        sink.problem(source, f"value {fields[value_index].strip()[:40]!r} is not a number", line=line)
        return
    if not present:
        return
    special = {layout.time_index, value_index, layout.name_index, layout.service_index}
    labels = {layout.header[i].strip(): cell for i, cell in enumerate(fields) if i not in special and cell.strip()}
    name = fields[layout.name_index].strip() if layout.name_index is not None else ""
    service_index = layout.service_index
    service = fields[service_index].strip() if service_index is not None else service_from_labels(labels)
    sink.metrics.add(
        ts_ns=ts_ns, service=service, name=name or "value", labels=dumps(labels), value=value, source=source
    )


class _WideCsvReader:
    name = "widecsv"
    signals = ("metrics",)

    def sniff(self, head: str, path: Path) -> bool:
        lines = head.lstrip("\ufeff").splitlines()
        if not lines or not lines[0].strip() or lines[0].lstrip()[:1] in ("{", "[", "<", "#"):
            return False
        delimiter = detect_delimiter(lines[0])
        try:
            records = list(csv.reader(lines[:3], delimiter=delimiter))
        except csv.Error:
            return False
        header = records[0]
        if len(header) < 2 or time_column(header) is None or any(len(cell) > 200 for cell in header):
            return False
        # The second line, when the head holds it whole, must have the header's shape.
        return len(records) < 3 or not records[1] or len(records[1]) == len(header)

    def read(self, path: Path, sink: RowSink) -> None:
        if sink.engine is not None:
            from incidentlens.ingest.widecsv_engine import read_wide_csv_with_engine  # it imports this module

            if read_wide_csv_with_engine(path, sink):
                return
        read_csv(path, sink)


READER = _WideCsvReader()
