"""Files and folders as a source: the `ingest/` readers, format detected from content.

Files hold what they hold: the whole content is loaded and the investigation's window selects from it.
"""

from __future__ import annotations

import time
from pathlib import Path

from incidentlens.errors import ConfigError
from incidentlens.ingest.runner import read_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.protocol import InputFile, SourceProgress, SourceQuery, SourceReport

_OPTIONS = frozenset({"format", "signal"})
SIGNALS = ("logs", "traces", "metrics", "alerts", "changes")


class FileSource:
    kind = "files"
    signals = ("logs", "spans", "metrics", "alerts", "changes")
    live = False

    def __init__(self, config: SourceConfig) -> None:
        config.check_options(_OPTIONS)
        if not config.paths:
            raise config.option_error("'paths' lists the files or folders to read")
        fmt = config.options.get("format")
        if fmt is not None and not isinstance(fmt, str):
            raise ConfigError(f"{config.where}: sources.{config.name}: 'format' must be a format name")
        signal = config.options.get("signal")
        if signal is not None and signal not in SIGNALS:
            raise config.option_error(f"'signal' is one of {', '.join(SIGNALS)}")
        self.name = config.name
        self.paths = config.paths
        self.forced_format = fmt
        self.signal: str | None = signal

    @classmethod
    def of(cls, paths: list[Path], *, name: str = "files", signal: str | None = None) -> FileSource:
        """A file source for paths given on the command line (`signal`: they were given as --logs, ...)."""
        options = {"signal": signal} if signal else {}
        return cls(SourceConfig(name=name, kind=cls.kind, paths=tuple(paths), options=options))

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        started = time.perf_counter()
        report = SourceReport(self.name, self.kind, ", ".join(str(p) for p in self.paths))

        def file_progress(path: Path, index: int, total: int, *, rows: int = 0) -> None:
            if str(path):
                so_far = f": {rows:,} rows so far" if rows else ""
                progress(f"{self.name}: reading {path.name} ({index + 1}/{total}){so_far}")

        ingest = read_paths(
            self.paths, sink, forced_format=self.forced_format, progress=file_progress, signal=self.signal
        )
        for table, n in ingest.rows.items():
            report.add_rows(table, n)
        for f in ingest.files:
            report.files.append(InputFile(f.path, f.format, sum(f.rows.values()), f.problem_count))
            if f.problem_count:
                report.errors.append(f"{f.path}: {f.problem_count} bad records skipped (first: {f.problems[0]})")
        report.files.extend(InputFile(path, "", 0, 0, skipped=why) for path, why in ingest.skipped)
        report.seconds = time.perf_counter() - started
        return report
