"""The Tempo source against a local server speaking Tempo's HTTP API (tests/sources/tempo_server.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.sources.tempo_server import TempoServer, parse_traceql
from tests.sources.trace_data import INCIDENT, NS, QUERY, Trace, burst, from_otlp_lines, shop
from tests.sources.trace_stub import json_answer, text_answer

from incidentlens.errors import ConfigError, SourceError
from incidentlens.ingest.runner import ingest_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.investigation import InvestigationRequest, run_on_store
from incidentlens.model import TimeRange
from incidentlens.simulate import simulate
from incidentlens.sources.config import parse_source
from incidentlens.sources.protocol import SourceQuery, SourceReport
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.store import TelemetryStore


def run(server: TempoServer, query: SourceQuery = QUERY, **settings: Any) -> tuple[SourceReport, RowSink]:
    entry = {"kind": "tempo", "url": server.url, "retry_backoff_seconds": 0, **settings}
    source = build_source(parse_source("tempo", entry))
    sink = RowSink()
    lines: list[str] = []
    report = source.load(query, sink, lines.append)
    assert lines and all(line.startswith("tempo: ") for line in lines)
    return report, sink


def stored(sink: RowSink) -> TelemetryStore:
    store = TelemetryStore()
    store.append(sink)
    return store


def error_ids(traces: list[Trace]) -> set[str]:
    return {t.trace_id for t in traces if any(s.get("status", {}).get("code") == 2 for _, s in t.spans())}


def test_error_traces_and_samples_load_into_the_store_whole_and_once() -> None:
    traces = shop()
    with TempoServer(traces) as server:
        report, sink = run(server)
        searches = [r.params for r in server.requests if r.path == "/api/search"]
        fetches = [r for r in server.requests if r.path.startswith("/api/traces/")]
    with stored(sink) as store:
        assert store.scalar("SELECT count(*) FROM spans") == 3 * len(traces) == report.rows["spans"]
        assert store.scalar("SELECT count(DISTINCT (trace_id, span_id)) FROM spans") == 3 * len(traces)
        assert {r[0] for r in store.rows("SELECT DISTINCT trace_id FROM spans WHERE status = 'ERROR'")} == error_ids(
            traces
        )
        failed = next(t for t in traces if t.trace_id in error_ids(traces))
        rows = store.rows(
            "SELECT span_id, parent_span_id, service, name, kind, start_ns, end_ns, status, status_message, source "
            "FROM spans WHERE trace_id = ? ORDER BY start_ns",
            [failed.trace_id],
        )
    spans = [s for _, s in failed.spans()]
    assert [r[0] for r in rows] == [s["spanId"] for s in spans]
    assert [r[1] for r in rows] == ["", spans[0]["spanId"], spans[1]["spanId"]]
    assert [r[2] for r in rows] == ["frontend", "frontend", "cart"]
    assert [r[4] for r in rows] == ["SERVER", "CLIENT", "SERVER"]
    assert [(r[5], r[6]) for r in rows] == [(int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])) for s in spans]
    assert [r[7] for r in rows] == ["ERROR", "UNSET", "ERROR"]
    assert rows[2][8] == "redis: i/o timeout"
    assert rows[0][9] == f"{server.url}/api/traces/{failed.trace_id}#0"
    assert report.services == ["cart", "currency", "frontend"]
    assert report.first_ns == min(t.start_ns for t in traces) and report.last_ns == max(t.end_ns for t in traces)
    assert not report.errors and not report.truncated and "30 error traces in the incident" in report.notes
    assert searches[0]["q"] == "{ status = error }"
    assert searches[0]["start"] == str(INCIDENT.start_ns // NS) and searches[0]["spss"] == "1"
    assert '{ resource.service.name = "cart" && status != error }' in {s["q"] for s in searches}
    assert len(fetches) == len(traces)  # each trace fetched once, though several searches list it
    assert all(r.headers["accept"] == "application/json" for r in fetches)


def test_a_search_answering_the_limit_is_sliced_until_every_error_trace_is_found() -> None:
    traces = shop(errors=60)
    with TempoServer(traces) as server:
        report, sink = run(server, search_limit=10, sample_traces=0)
        ranges = [(int(r.params["start"]), int(r.params["end"])) for r in server.requests if r.path == "/api/search"]
    with stored(sink) as store:
        assert {r[0] for r in store.rows("SELECT DISTINCT trace_id FROM spans")} == error_ids(traces)
        assert store.scalar("SELECT count(*) FROM spans") == 3 * 60
    assert ranges[0] == (INCIDENT.start_ns // NS, INCIDENT.end_ns // NS)
    assert len(ranges) > 6 and max(e - s for s, e in ranges[1:]) < ranges[0][1] - ranges[0][0]
    assert not report.truncated and "60 error traces in the incident" in report.notes


def test_the_error_traces_cap_and_a_slice_that_cannot_be_split_are_reported() -> None:
    with TempoServer(shop(errors=40)) as server:
        report, sink = run(server, error_traces=5, sample_traces=0)
    assert sink.spans.total == 5 * 3
    assert report.truncated == ["error traces capped at 5 (error_traces); more exist"]

    dense = burst(30, INCIDENT.start_ns + 60 * NS)
    with TempoServer(dense) as server:
        report, sink = run(server, search_limit=10, sample_traces=0)
    assert 10 * 3 <= sink.spans.total < 30 * 3
    assert len(report.truncated) == 1 and "still answered 10 traces (search_limit)" in report.truncated[0]


def test_max_rows_keeps_whole_traces_and_says_what_it_left_out() -> None:
    with TempoServer(shop()) as server:
        report, sink = run(server, max_rows=20)
    assert sink.spans.total == 18 == report.rows["spans"]  # six whole traces of three spans
    assert any("spans capped at 20 (max_rows)" in line for line in report.truncated)
    assert any("traces found were not loaded (max_rows reached)" in line for line in report.truncated)


def test_a_bad_query_is_listed_and_the_rest_still_loads() -> None:
    with TempoServer(shop()) as server:
        server.answer_next("/api/search", text_answer(400, "invalid TraceQL query: parse error at line 1, col 3"))
        report, sink = run(server)
    assert len(report.errors) == 1
    assert "HTTP 400: invalid TraceQL query: parse error at line 1, col 3" in report.errors[0]
    assert f"GET {server.url}/api/search: " in report.errors[0]
    assert sink.spans.total > 0 and not any(t.startswith("error traces") for t in report.truncated)


def test_a_503_is_retried_and_then_succeeds() -> None:
    traces = shop()
    with TempoServer(traces) as server:
        server.answer_next("/api/search", text_answer(503, "too many outstanding requests"))
        server.answer_next("/api/traces/", text_answer(503, "too many outstanding requests"), times=2)
        report, sink = run(server, retries=2)
        fetches = server.paths("/api/traces/")
    assert not report.errors
    assert sink.spans.total == 3 * len(traces)
    assert len(fetches) == len(traces) + 2 and len(set(fetches)) == len(traces)


def test_a_trace_that_cannot_be_fetched_is_listed_and_the_others_kept() -> None:
    traces = shop()
    lost = sorted(error_ids(traces))[0]
    with TempoServer(traces) as server:
        server.missing.add(lost)
        report, sink = run(server)
    assert len(report.errors) == 1
    assert f"/api/traces/{lost}" in report.errors[0] and "HTTP 404: trace not found" in report.errors[0]
    assert sink.spans.total == 3 * (len(traces) - 1)


def test_a_permanent_failure_raises_naming_the_url_and_status() -> None:
    with TempoServer(shop()) as server:
        server.answer_next("/api/", text_answer(500, "internal error: querier unavailable"), times=100)
        with pytest.raises(SourceError) as caught:
            run(server, retries=1)
    message = str(caught.value)
    assert message.startswith("tempo source 'tempo': no trace loaded (2 failures; the first: GET ")
    assert "HTTP 500 after 2 attempts: internal error: querier unavailable" in message


def test_services_that_cannot_be_listed_leave_the_error_traces() -> None:
    traces = shop()
    with TempoServer(traces) as server:
        server.answer_next("/api/search/tag/", text_answer(500, "boom"))
        report, sink = run(server, retries=0)
    assert "no services: only error traces are searched" in report.errors[0]
    assert sink.spans.total == 3 * len(error_ids(traces))


def test_a_server_slower_than_the_timeout_fails_with_a_clear_reason() -> None:
    with TempoServer(shop()) as server:
        server.delay_seconds = 0.5
        with pytest.raises(SourceError, match=r"timed out after 0.2 s"):
            run(server, timeout_seconds=0.2, retries=0)


def test_the_bearer_token_is_sent_and_never_shown() -> None:
    token = "tempo-s3cret-token"
    with TempoServer(shop()) as server:
        server.authorization = f"Bearer {token}"
        report, sink = run(server, bearer_token=token)
        assert sink.spans.total > 0 and not report.errors
        with pytest.raises(SourceError) as caught:
            run(server, bearer_token="wrong-" + token)
    assert "HTTP 401" in str(caught.value) and token not in str(caught.value)
    assert token not in repr(report) and token not in repr(parse_source("t", {"kind": "tempo", "bearer_token": token}))


def test_api_v2_reads_the_wrapped_trace_and_lists_a_partial_one() -> None:
    traces = shop()
    first = sorted(error_ids(traces))[0]
    with TempoServer(traces) as server:
        server.partial.add(first)
        report, sink = run(server, api="v2")
        paths = server.paths()
    assert sink.spans.total == 3 * len(traces)
    assert "/api/v2/search/tag/resource.service.name/values" in paths
    assert f"/api/v2/traces/{first}" in paths and not any(p.startswith("/api/traces/") for p in paths)
    partial = f"{server.url}/api/v2/traces/{first}: Tempo returned part of the trace (response exceeds max size)"
    assert report.errors == [partial]


def test_tempo_1x_instrumentation_library_spans_are_read() -> None:
    traces = shop(normal=4, incident_ok=2, errors=3)
    with TempoServer(traces, scope_key="instrumentationLibrarySpans") as server:
        _, sink = run(server)
    with stored(sink) as store:
        assert store.scalar("SELECT count(*) FROM spans WHERE kind = 'SERVER' AND status = 'ERROR'") == 2 * 3


def test_narrowed_services_are_searched_without_listing_services() -> None:
    with TempoServer(shop()) as server:
        query = SourceQuery(window=QUERY.window, incident=QUERY.incident, services=("cart",))
        report, _ = run(server, query)
        searches = [r.params["q"] for r in server.requests if r.path == "/api/search"]
        paths = server.paths()
    assert not any(p.startswith("/api/search/tag/") for p in paths)
    assert searches[0] == '{ status = error && (resource.service.name = "cart") }'
    assert all("cart" in q for q in searches) and report.services == ["cart"]
    assert parse_traceql(searches[0])(("cart", {"status": {"code": 2}}))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"api": "v3"}, "'api' must be one of v1, v2"),
        ({"error_traces": -1}, "'error_traces' must be a whole number"),
        ({"sample_traces": True}, "'sample_traces' must be a whole number"),
        ({"services": "cart"}, "'services' must be a list"),
        ({"limit": 5}, "unknown key(s) limit"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_source(parse_source("t", {"kind": "tempo", "url": "http://127.0.0.1:1", **options}))
    with pytest.raises(ConfigError, match="'url' is required"):
        build_source(parse_source("t", {"kind": "tempo"}))


def test_a_simulated_incident_served_by_tempo_gets_the_same_top_hypothesis(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    truth = simulate("bad_deploy_exception", out=bundle, with_repo=False, normal_minutes=10, incident_minutes=5)
    with TelemetryStore() as store:
        ingest_paths([bundle / "traces", bundle / "alerts"], store)
        from_files = run_on_store(store, InvestigationRequest(sources=())).hypotheses[0]
    traces = from_otlp_lines(bundle / "traces" / "traces.otlp.jsonl")
    window = TimeRange(min(t.start_ns for t in traces), max(t.end_ns for t in traces))
    query = SourceQuery(window=window, incident=TimeRange(truth.alert_ns - 5 * 60 * NS, window.end_ns))
    with TempoServer(traces) as server:
        report, sink = run(server, query)
    assert report.rows["spans"] < 0.7 * sum(len(t.spans()) for t in traces)  # a sample, not everything
    with TelemetryStore() as store:
        store.append(sink)
        ingest_paths([bundle / "alerts"], store)
        from_tempo = run_on_store(store, InvestigationRequest(sources=())).hypotheses[0]
    assert from_files.service == truth.service
    assert (from_tempo.service, from_tempo.fault) == (from_files.service, from_files.fault)


def test_a_recorded_legacy_trace_is_read_by_its_64_bit_id(formats_dir: Path) -> None:
    recorded = orjson.loads((formats_dir / "tempo-grafana-legacy-trace.synthetic.json").read_bytes())
    found = {"traceID": "60ba2abb44f13eae", "rootServiceName": "db", "startTimeUnixNano": "1627471657255809000"}
    with TempoServer([]) as server:
        server.answer_next("/api/search", json_answer(200, {"traces": [found], "metrics": {"totalBlocks": 1}}))
        server.answer_next("/api/traces/", json_answer(200, recorded))
        report, sink = run(server, services=["db"], sample_traces=0)
        fetched = server.paths("/api/traces/")
    assert fetched == ["/api/traces/000000000000000060ba2abb44f13eae"]
    with stored(sink) as store:
        row = store.rows("SELECT trace_id, span_id, parent_span_id, service, kind FROM spans")
    assert row == [("000000000000000060ba2abb44f13eae", "726b5e30102fc0d0", "398f0f21a3db99ae", "db", "SERVER")]
    assert report.rows == {"spans": 1} and not report.errors
