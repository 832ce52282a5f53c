"""The one small protocol every telemetry source implements, and what a source says about its answer.

A source loads one window of telemetry into a `RowSink` and returns a `SourceReport`: rows per table,
the time range it covered, what it had to cut (row caps) and what failed. A source that cannot answer at
all raises `SourceError`; the investigation turns that into a note in the brief rather than failing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.telemetry.protocol import TelemetryQueries

# Called with a short human-readable line ("prometheus prom: 12/40 series queries") while a source works.
SourceProgress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SourceQuery:
    """What to fetch: the whole `window` (normal period + incident), its `incident` part, and optionally
    only these `services` (empty: every service the source knows)."""

    window: TimeRange
    incident: TimeRange
    services: tuple[str, ...] = ()

    @property
    def normal(self) -> TimeRange:
        """The normal period before the incident (possibly empty)."""
        return TimeRange(self.window.start_ns, max(self.window.start_ns, self.incident.start_ns))


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file a local source read (or skipped): what it was read as, and how much of it was usable."""

    path: str
    format: str  # the reader used; empty when skipped
    rows: int
    problems: int
    skipped: str = ""  # why the file was not read


@dataclass
class SourceReport:
    """What one source returned: filled in by the source, shown in the brief's Sources section."""

    name: str
    kind: str
    target: str  # a redacted URL or the paths read: never credentials
    rows: dict[str, int] = field(default_factory=dict)
    first_ns: int | None = None
    last_ns: int | None = None
    requests: int = 0
    seconds: float = 0.0
    truncated: list[str] = field(default_factory=list)  # "logs capped at 50000 rows", one line each
    errors: list[str] = field(default_factory=list)  # failures that did not stop the source
    notes: list[str] = field(default_factory=list)  # anything else worth a reader's attention
    services: list[str] = field(default_factory=list)  # services the answer covered
    failed: bool = False  # the source produced nothing usable (see `errors`)
    files: list[InputFile] = field(default_factory=list)  # local sources: every file read or skipped

    def add_rows(self, table: str, n: int) -> None:
        if n:
            self.rows[table] = self.rows.get(table, 0) + n

    def saw_time(self, ts_ns: int) -> None:
        """Widen the covered time range to include `ts_ns`."""
        self.first_ns = ts_ns if self.first_ns is None else min(self.first_ns, ts_ns)
        self.last_ns = ts_ns if self.last_ns is None else max(self.last_ns, ts_ns)

    @property
    def row_total(self) -> int:
        return sum(self.rows.values())


class Source(Protocol):
    """A module-level class per backend, registered in `sources/registry.py`.

    `signals` names the telemetry tables it can fill (`logs`, `spans`, `metrics`, `changes`, `alerts`), so
    the brief can say which signals no source covered. `live` sources query a backend for the window and
    are loaded once the window is known; local ones (files) are read first and may give it (an alert).
    `load` must honour the source's row caps and time-out,
    put rows into `sink`, and report what it did; it raises `SourceError` only when it got nothing usable.
    """

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def signals(self) -> tuple[str, ...]: ...

    @property
    def live(self) -> bool: ...

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport: ...


class PushdownTelemetry(TelemetryQueries, Protocol):
    """The analysis questions answered where the data lives, plus what the brief lists as its inputs."""

    def counts(self) -> dict[str, int]: ...


@runtime_checkable
class PushdownSource(Protocol):
    """A live source analysed in place (ClickHouse): after `load` (which copies nothing and reports what the
    window holds) the investigation asks `telemetry` its questions instead of its own store; `local` answers
    what the backend does not keep (alerts, changes from other sources)."""

    name: str

    def telemetry(self, query: SourceQuery, local: TelemetryQueries | None) -> PushdownTelemetry: ...

    def close(self) -> None: ...
