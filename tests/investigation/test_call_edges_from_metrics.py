"""Metrics-only telemetry with Istio edge series, through the real store: the callee every caller saw degrade
leads, the call graph comes from the edges, and cumulative counters never make an onset."""

from __future__ import annotations

import orjson

from incidentlens.ingest.sink import RowSink
from incidentlens.investigation.analysis import detect_windows, investigate
from incidentlens.telemetry.queries import DuckDBQueries
from incidentlens.telemetry.store import TelemetryStore

STEP = 15 * 10**9
POINTS = 160  # 40 minutes
ONSET = 140


def _edges(sink: RowSink) -> None:
    calls = (("frontend", "checkout"), ("checkout", "payment"), ("frontend", "payment"), ("frontend", "ad"))
    for i in range(POINTS):
        t = i * STEP
        for caller, callee in calls:
            for reporter in ("source", "destination"):
                slow = callee == "payment" and i >= ONSET
                victim = (caller, callee) == ("frontend", "checkout") and i >= ONSET
                value = 250.0 if slow else 180.0 if victim else 5.0 + (i % 4) * 0.2
                labels = {"source_workload": caller, "destination_workload": callee, "reporter": reporter}
                sink.metrics.add(
                    ts_ns=t,
                    service=callee,
                    name="istio_request_duration_milliseconds_p90",
                    labels=orjson.dumps(labels).decode(),
                    value=value,
                    source="edges.json",
                )
        # a servicegraph counter keeps climbing: never an onset by itself
        sink.metrics.add(
            ts_ns=t,
            service="ad",
            name="traces_service_graph_request_server_seconds_sum",
            labels=orjson.dumps({"client": "frontend", "server": "ad"}).decode(),
            value=float(i * 3),
            source="edges.json",
        )


def test_the_callee_every_caller_saw_slow_down_leads() -> None:
    sink = RowSink()
    _edges(sink)
    with TelemetryStore() as store:
        store.append(sink)
        queries = DuckDBQueries(store)
        windows = detect_windows(queries, alert_ns=(ONSET + 8) * STEP)
        assert abs(windows.onset_ns - ONSET * STEP) <= 2 * STEP, windows.onset_reason
        result = investigate(queries, windows)
        assert result.hypotheses[0].service == "payment"
        assert {("frontend", "checkout"), ("checkout", "payment"), ("frontend", "ad")} <= set(result.graph.edges)
        summary = next(
            result.analysis.evidence[e].summary for e in result.hypotheses[0].supporting if "callers" in
            result.analysis.evidence[e].summary
        )  # fmt: skip
        assert "2 of the 2 callers of payment" in summary


def test_a_climbing_counter_alone_gives_no_onset() -> None:
    sink = RowSink()
    for i in range(POINTS):
        # a cumulative sum whose rate grows five-fold 20 points before the alert: a counter, not a level
        value = 3.0 * i if i < 128 else 3.0 * 128 + 15.0 * (i - 128)
        sink.metrics.add(ts_ns=i * STEP, service="ad", name="traces_service_graph_request_server_seconds_sum",
                         labels='{"client": "frontend", "server": "ad"}', value=value, source="x")  # fmt: skip
    with TelemetryStore() as store:
        store.append(sink)
        windows = detect_windows(DuckDBQueries(store), alert_ns=(ONSET + 8) * STEP)
        assert "metrics depart" not in windows.onset_reason
        assert windows.onset_ns == (ONSET + 8) * STEP - 2 * 60 * 10**9  # the alert's fallback, not a counter's climb
