"""Every question the analysis asks of telemetry, as a protocol a backend implements.

`queries.DuckDBQueries` answers it over the local store; a backend that keeps telemetry elsewhere
(ClickHouse) answers the same questions by pushing the aggregation down. Results are the small rows of
`rows.py`, so the analyzers never see which backend computed them. Windows are a half-open normal period
`[start, end)` and a closed incident `[start, end]`.
"""

from __future__ import annotations

from typing import Protocol

from incidentlens.model import Alert, Change, TimeRange
from incidentlens.telemetry.rows import (
    Bounds,
    Edge,
    EdgeGap,
    EdgeMetricSeries,
    EntryStats,
    ErrorOrigin,
    FrameGroup,
    LabelledSeries,
    LoggerCount,
    LogMessageGroup,
    MetricPoints,
    MetricShift,
    SelfTimeShift,
    ServiceBin,
    ServiceVolume,
    TraceSpanRow,
)

# (bin start, error spans, error logs, entry spans, slow entry spans) per time bin, for onset detection.
TimelineBin = tuple[int, int, int, int, int]


class TelemetryQueries(Protocol):
    def bounds(self) -> Bounds | None:
        """First and last timestamp of any log, span or metric point; None when there is nothing."""
        ...

    def alerts(self) -> list[Alert]: ...

    def changes(self, window: TimeRange) -> list[Change]: ...

    def error_timeline(self, window: TimeRange, bin_ns: int, *, reference_end_ns: int) -> list[TimelineBin]: ...

    def service_timeline(self, window: TimeRange, bin_ns: int) -> list[ServiceBin]:
        """Per service and time bin (bins start at `window.start_ns`): served requests, errors, latency."""
        ...

    def error_origins(self, baseline: TimeRange, incident: TimeRange) -> list[ErrorOrigin]: ...

    def self_time_shifts(self, baseline: TimeRange, incident: TimeRange) -> list[SelfTimeShift]: ...

    def service_volumes(self, baseline: TimeRange, incident: TimeRange) -> list[ServiceVolume]: ...

    def metric_shifts(self, baseline: TimeRange, incident: TimeRange) -> list[MetricShift]: ...

    def edges(self, window: TimeRange) -> list[Edge]: ...

    def entry_stats(self, baseline: TimeRange, incident: TimeRange) -> EntryStats: ...

    def exception_frames(self, service: str, incident: TimeRange, limit: int = 3) -> list[FrameGroup]: ...

    def logger_counts(self, service: str, baseline: TimeRange, incident: TimeRange) -> list[LoggerCount]: ...

    def logger_counts_by_service(
        self, baseline: TimeRange, incident: TimeRange, *, service: str | None = None
    ) -> dict[str, list[LoggerCount]]: ...

    def new_statements(
        self, service: str, baseline: TimeRange, incident: TimeRange, *, min_count: int = 3
    ) -> list[tuple[str, str, tuple[str, ...]]]: ...

    def edge_gaps(self, baseline: TimeRange, incident: TimeRange) -> list[EdgeGap]: ...

    def services_by_signal(self) -> dict[str, set[str]]:
        """Per table (logs, spans, metrics): the services it has rows for, to tell what no source covered."""
        ...

    def log_message_groups(self, baseline: TimeRange, incident: TimeRange) -> list[LogMessageGroup]: ...

    def trace_spans(self, trace_id: str, limit: int) -> tuple[list[TraceSpanRow], int]: ...

    def metric_points(self, service: str, name: str, window: TimeRange) -> list[tuple[int, float]]: ...

    def metric_series(self, window: TimeRange, names_like: str) -> list[MetricPoints]:
        """Every series whose name matches the SQL LIKE/regex `names_like`, as points in `window`."""
        ...

    def labelled_series(self, window: TimeRange, names_like: str) -> list[LabelledSeries]:
        """Like `metric_series`, but one series per label set: replicas and call edges kept apart."""
        ...

    def edge_series(self, window: TimeRange) -> list[EdgeMetricSeries]:
        """Call-edge series (service mesh, servicegraph: a caller and a callee label) with their labels."""
        ...
