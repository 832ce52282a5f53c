"""Load files and folders into the telemetry store: detect each file's format, read, append atomically."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from incidentlens.errors import FormatError, InputError
from incidentlens.ingest.common import gzip_state, paused_gc, read_head
from incidentlens.ingest.protocol import FormatReader
from incidentlens.ingest.registry import detect, reader_by_name
from incidentlens.ingest.sink import Problem, RowSink, TableBuffer
from incidentlens.telemetry.store import TelemetryStore

# Folders inside a bundle that are not telemetry: source repositories and tool state.
SKIPPED_DIRS = frozenset({".git", "repo", ".incidentlens", "__pycache__", "node_modules"})
# Files beside telemetry that describe it rather than hold it.
SKIPPED_FILES = frozenset({"truth.json", "README.md", ".DS_Store"})


@dataclass(frozen=True, slots=True)
class FileReport:
    path: str
    format: str
    rows: dict[str, int]
    problem_count: int
    problems: tuple[Problem, ...]


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rows(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for f in self.files:
            for table, n in f.rows.items():
                total[table] = total.get(table, 0) + n
        return total

    @property
    def problem_count(self) -> int:
        return sum(f.problem_count for f in self.files)


class ProgressCallback(Protocol):
    """Called before each file (`rows` 0) and, on large files, each time a batch of its rows is stored."""

    def __call__(self, path: Path, index: int, total: int, /, *, rows: int = 0) -> None: ...


@contextmanager
def _rows_progress(
    sink: RowSink, progress: ProgressCallback | None, path: Path, index: int, total: int
) -> Iterator[None]:
    """While one file is read, report its rows so far each time a full batch goes to the store."""
    if progress is None:
        yield
        return
    start = sink.row_count()
    saved = {name: buffer.flusher for name, buffer in sink.buffers.items()}

    def wrap(flush: Callable[[TableBuffer], object]) -> Callable[[TableBuffer], object]:
        def flushed(buffer: TableBuffer) -> object:
            done = flush(buffer)
            progress(path, index, total, rows=sink.row_count() - start)
            return done

        return flushed

    for name, buffer in sink.buffers.items():
        flush = saved[name]
        if flush is not None:
            buffer.flusher = wrap(flush)
    try:
        yield
    finally:
        for name, buffer in sink.buffers.items():
            buffer.flusher = saved[name]


def expand_paths(paths: Iterable[Path], report: IngestReport) -> list[Path]:
    """Files to read: explicit files as given, folders walked in sorted order (skipping non-telemetry)."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_file():
            files.append(path)
            continue
        for child in sorted(path.rglob("*")):
            rel_parts = child.relative_to(path).parts
            if any(part in SKIPPED_DIRS or part.startswith(".") for part in rel_parts[:-1]):
                continue
            if not child.is_file():
                continue
            if child.name in SKIPPED_FILES or child.name.startswith("."):
                report.skipped.append((str(child), "not telemetry"))
                continue
            files.append(child)
    return files


def choose_reader(path: Path, forced: str | None, *, explicit: bool, signal: str | None = None) -> FormatReader | None:
    """The reader for a file; explicit files must be recognised, files found in folders may be skipped.

    With `signal` (the user said `--logs`, `--traces`, ...) only readers of that signal are considered: a
    file that reads as something else is an error naming both, never silently read as another signal.
    """
    if forced:
        reader = reader_by_name(forced)
        if reader is None:
            raise InputError(f"unknown format {forced!r}")
        return reader
    if path.stat().st_size == 0:
        if explicit:
            raise FormatError(str(path), "file is empty")
        return None
    head = read_head(path)
    if not head.strip():
        state = gzip_state(path)
        if state:
            raise FormatError(str(path), f"{state} gzip: no complete data to read (copy cut short?)")
        if explicit:
            raise FormatError(str(path), "binary or empty content: not a telemetry format we read")
        return None
    reader = detect(head, path, signal=signal)
    if reader is None and signal is not None:
        other = detect(head, path)
        if other is not None:
            raise FormatError(
                str(path),
                f"given as {signal}, but its content is {other.name} ({', '.join(other.signals)}), "
                f"not a {signal} format; pass it with the option of its kind",
            )
    if reader is None and explicit:
        what = f"{signal} format" if signal else "supported format"
        raise FormatError(str(path), f"content matches no {what} (see `incidentlens formats`)")
    return reader


def ingest_paths(
    paths: Iterable[Path],
    store: TelemetryStore,
    *,
    forced_format: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Read every file into the store in one transaction: a failing file leaves the store as before."""
    with store.transaction():
        sink = RowSink()
        sink.attach(store.append_buffer, store)
        report = read_paths(paths, sink, forced_format=forced_format, progress=progress)
        store.append(sink)
    return report


def read_paths(
    paths: Iterable[Path],
    sink: RowSink,
    *,
    forced_format: str | None = None,
    progress: ProgressCallback | None = None,
    signal: str | None = None,
) -> IngestReport:
    """Read every file into `sink`; a file with no valid record raises FormatError naming it. With `signal`,
    only readers of that signal are used (see `choose_reader`)."""
    report = IngestReport()
    given = list(paths)
    explicit = {p for p in given if p.is_file()}
    files = expand_paths(given, report)
    for index, path in enumerate(files):
        if progress:
            progress(path, index, len(files))
        reader = choose_reader(path, forced_format, explicit=path in explicit, signal=signal)
        if reader is None:
            report.skipped.append((str(path), "format not recognised"))
            continue
        rows_before, problems_before = sink.counts(), sink.problem_count
        kept_before = len(sink.problems)
        sink.watch(str(path))
        with _rows_progress(sink, progress, path, index, len(files)), paused_gc():
            reader.read(path, sink)
        rows = {t: n - rows_before.get(t, 0) for t, n in sink.counts().items()}
        problem_count = sink.problem_count - problems_before
        problems = tuple(sink.problems[kept_before:])
        if sum(rows.values()) == 0 and problem_count:
            first = problems[0] if problems else "no detail kept"
            raise FormatError(
                str(path),
                f"no valid {reader.name} record ({problem_count} problems; first: {first})",
            )
        report.files.append(FileReport(str(path), reader.name, rows, problem_count, problems))
    if progress:
        progress(Path(""), len(files), len(files))
    return report
