"""The traces one trace-source load keeps: each trace once and whole, within the row budget, through the
ingest readers (`ingest/jaeger.py` for Jaeger JSON, `ingest/otlp_traces.py` for OTLP resource spans and
Tempo's legacy `batches`), with failed requests listed in the report rather than stopping the load."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from incidentlens.errors import SourceError
from incidentlens.ingest import jaeger, otlp_traces
from incidentlens.ingest.common import normalize_id
from incidentlens.ingest.otlp_common import TRACE_ID_WIDTH, Position, RecordError, scopes, unix_nano
from incidentlens.ingest.sink import RowSink
from incidentlens.sources.budget import RowBudget
from incidentlens.sources.protocol import SourceReport

MAX_ERRORS_LISTED = 10


def trace_key(raw: Any) -> str:
    """A trace id as the store keeps it (32 lowercase hex digits); '' when absent or malformed."""
    try:
        return normalize_id(raw, width=TRACE_ID_WIDTH)
    except ValueError:
        return ""


def split_by_trace(resources: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """OTLP resource spans regrouped per trace id (Jaeger api/v3 answers a search as one merged list)."""
    traces: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        for scope in scopes(resource, "scopeSpans"):
            spans = scope.get("spans")
            by_trace: dict[str, list[Any]] = {}
            for span in spans if isinstance(spans, list) else []:
                by_trace.setdefault(trace_key(span.get("traceId") if isinstance(span, dict) else None), []).append(span)
            for key, part in by_trace.items():
                scope_part = {"scope": scope.get("scope"), "spans": part}
                traces.setdefault(key, []).append({"resource": resource.get("resource"), "scopeSpans": [scope_part]})
    return traces


def _otlp_extent(resources: list[Any]) -> tuple[int, list[int]]:
    """(span entries, [earliest start, latest end]) of OTLP resource spans; bad times are the reader's to report."""
    count, times = 0, []
    for resource in resources:
        for scope in scopes(resource, "scopeSpans") if isinstance(resource, dict) else []:
            spans = scope.get("spans")
            for span in spans if isinstance(spans, list) else []:
                count += 1
                if isinstance(span, dict):
                    with contextlib.suppress(RecordError):  # the reader reports the span
                        times += [unix_nano(span, "startTimeUnixNano"), unix_nano(span, "endTimeUnixNano")]
    return count, [min(times), max(times)] if times else []


def _jaeger_extent(spans: list[Any]) -> list[int]:
    times = []
    for span in spans:
        if isinstance(span, dict):
            try:
                start = int(span["startTime"])
                times += [start * 1_000, (start + int(span.get("duration") or 0)) * 1_000]
            except (KeyError, TypeError, ValueError):
                pass
    return [min(times), max(times)] if times else []


class TraceLoad:
    """Collects traces into `sink`; `report` gets rows, time range, truncation and failures."""

    def __init__(self, kind: str, name: str, sink: RowSink, report: SourceReport, max_rows: int) -> None:
        self.kind, self.name = kind, name
        self.sink = sink
        self.report = report
        self.budget = RowBudget(max_rows, report)
        self.seen: set[str] = set()
        self.loaded = 0
        self.failures = 0
        self.first_failure = ""
        self.not_loaded = 0  # traces found but left out because the span cap was reached
        self._problems_before = sink.problem_count
        self._kept_before = len(sink.problems)

    @property
    def full(self) -> bool:
        return self.budget.exhausted

    def add_jaeger(self, trace: Any, address: str) -> bool:
        """One Jaeger JSON trace (`{"traceID", "spans", "processes"}`); True when it was not seen before."""
        if not isinstance(trace, dict) or not isinstance(trace.get("spans"), list):
            self.fail(f"{address}: not a Jaeger trace object with spans")
            return False
        spans = trace["spans"]
        return self._keep(
            trace_key(trace.get("traceID")),
            len(spans),
            _jaeger_extent(spans),
            lambda where: jaeger.add_trace(trace, self.sink, where),
            address,
        )

    def add_otlp(self, key: str, resources: list[Any], address: str) -> bool:
        """One trace as OTLP resource spans (or Tempo `batches`); True when it was not seen before."""
        count, extent = _otlp_extent(resources)
        return self._keep(
            key, count, extent, lambda where: otlp_traces.add_resource_spans(resources, self.sink, where), address
        )

    def _keep(self, key: str, count: int, extent: list[int], write: Callable[[Position], None], address: str) -> bool:
        if not key:
            self.fail(f"{address}: a trace without a usable trace id")
            return False
        if key in self.seen:
            return False
        self.seen.add(key)
        allowed = self.budget.take(count)
        if allowed < count:  # a trace is kept whole or not at all: part of a trace misleads
            self.budget.dropped += allowed
            self.not_loaded += 1
            return True
        before = self.sink.spans.total
        write(Position(address))
        self.report.add_rows("spans", self.sink.spans.total - before)
        for ts in extent:
            self.report.saw_time(ts)
        self.loaded += 1
        return True

    def fail(self, message: str) -> None:
        """A request or answer that failed; the load goes on. The first few are listed in the report."""
        self.failures += 1
        self.first_failure = self.first_failure or message
        if self.failures <= MAX_ERRORS_LISTED:
            self.report.errors.append(message)

    def finish(self) -> None:
        """Close the report; raise SourceError when nothing was loaded and something failed."""
        if self.failures > MAX_ERRORS_LISTED:
            self.report.errors.append(f"{self.failures - MAX_ERRORS_LISTED} more failures not listed")
        problems = self.sink.problem_count - self._problems_before
        if problems:
            kept = self.sink.problems[self._kept_before :]
            self.report.errors.append(f"{problems} bad spans skipped (first: {kept[0] if kept else 'not kept'})")
        self.budget.close("spans")
        if self.not_loaded:
            self.report.truncated.append(f"{self.not_loaded} traces found were not loaded (max_rows reached)")
        if not self.loaded and self.failures:
            self.report.failed = True
            prefix = f"{self.kind} source {self.name!r}: "
            first = self.first_failure.removeprefix(prefix)
            count = f"{self.failures} failure{'s' if self.failures > 1 else ''}"
            raise SourceError(f"{prefix}no trace loaded ({count}; the first: {first})")
        if not self.loaded:
            self.report.notes.append("no traces in the window")
