"""Span queries on a real DuckDB store: calls recognised without span kinds."""

from __future__ import annotations

from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.telemetry.queries import DuckDBQueries
from incidentlens.telemetry.store import TelemetryStore

MS = 1_000_000


def _call(sink: RowSink, trace: str, start: int, gap_ms: int) -> None:
    """auth `HTTP GET` (no kind) -> verification server span; the call's own time is the network gap."""
    sink.spans.add(
        trace_id=trace,
        span_id=f"{trace}a",
        parent_span_id="",
        service="auth",
        name="HTTP GET",
        kind="UNSPECIFIED",
        start_ns=start,
        end_ns=start + (2 + gap_ms) * MS,
        status="UNSET",
        attributes="{}",
        links="[]",
    )
    sink.spans.add(
        trace_id=trace,
        span_id=f"{trace}b",
        parent_span_id=f"{trace}a",
        service="verification",
        name="verify",
        kind="UNSPECIFIED",
        start_ns=start + gap_ms * MS // 2,
        end_ns=start + (gap_ms // 2 + 2) * MS,
        status="UNSET",
        attributes="{}",
        links="[]",
    )


def test_a_span_without_kind_calling_one_other_service_is_a_call_to_it() -> None:
    sink = RowSink()
    for i in range(10):
        _call(sink, f"b{i:02d}", i * 1000 * MS, gap_ms=2)
        _call(sink, f"i{i:02d}", (100_000 + i * 1000) * MS, gap_ms=200)
    with TelemetryStore() as store:
        store.append(sink)
        shifts = DuckDBQueries(store).self_time_shifts(TimeRange(0, 50_000 * MS), TimeRange(100_000 * MS, 200_000 * MS))
    call = next(s for s in shifts if s.operation == "HTTP GET")
    assert call.peer == "verification" and call.has_server_child
    assert call.incident_p50_ms > 100 > call.baseline_p50_ms
    leaf = next(s for s in shifts if s.operation == "verify")
    assert leaf.peer == "" and not leaf.has_server_child
