"""The Jaeger source against a local server speaking Jaeger's query API v1 and v3 (tests/sources/jaeger_server.py)."""

from __future__ import annotations

import base64
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.sources.jaeger_server import JaegerServer, v1_error, v3_error
from tests.sources.trace_data import INCIDENT, NS, QUERY, Trace, shop, shop_trace
from tests.sources.trace_stub import json_answer, text_answer

from incidentlens.errors import ConfigError, SourceError
from incidentlens.ingest.sink import RowSink
from incidentlens.sources.config import parse_source
from incidentlens.sources.protocol import SourceQuery, SourceReport
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.store import TelemetryStore


def run(server: JaegerServer, query: SourceQuery = QUERY, **settings: Any) -> tuple[SourceReport, RowSink]:
    entry = {"kind": "jaeger", "url": server.url, "retry_backoff_seconds": 0, **settings}
    source = build_source(parse_source("jaeger", entry))
    sink = RowSink()
    lines: list[str] = []
    report = source.load(query, sink, lines.append)
    assert lines and all(line.startswith("jaeger: ") for line in lines)
    return report, sink


def error_ids(traces: list[Trace]) -> set[str]:
    return {t.trace_id for t in traces if any(s.get("status", {}).get("code") == 2 for _, s in t.spans())}


def span_rows(sink: RowSink, trace_id: str) -> list[tuple[Any, ...]]:
    with TelemetryStore() as store:
        store.append(sink)
        assert store.scalar("SELECT count(*) FROM spans") == store.scalar(
            "SELECT count(DISTINCT (trace_id, span_id)) FROM spans"
        )
        return store.rows(
            "SELECT span_id, parent_span_id, service, name, kind, start_ns, end_ns, status, status_message, "
            "json_extract_string(attributes, '$.\"exception.type\"'), source FROM spans WHERE trace_id = ? "
            "ORDER BY start_ns",
            [trace_id],
        )


@pytest.mark.parametrize("api", ["v1", "v3"])
def test_error_traces_and_samples_load_into_the_store(api: str) -> None:
    traces = shop()
    failed = next(t for t in traces if t.trace_id in error_ids(traces))
    with JaegerServer(traces) as server:
        report, sink = run(server, api=api)
        paths = server.paths()
    rows = span_rows(sink, failed.trace_id)
    spans = [s for _, s in failed.spans()]
    micros = api == "v1"  # the v1 JSON has microseconds
    times = [(int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])) for s in spans]
    if micros:
        times = [(a // 1_000 * 1_000, a // 1_000 * 1_000 + (b - a) // 1_000 * 1_000) for a, b in times]
    assert [r[0] for r in rows] == [s["spanId"] for s in spans]
    assert [r[1] for r in rows] == ["", spans[0]["spanId"], spans[1]["spanId"]]
    assert [r[2] for r in rows] == ["frontend", "frontend", "cart"]
    assert [r[4] for r in rows] == ["SERVER", "CLIENT", "SERVER"]
    assert [(r[5], r[6]) for r in rows] == times
    assert [r[7] for r in rows] == ["ERROR", "UNSET", "ERROR"]
    assert rows[2][8] == "redis: i/o timeout" and rows[2][9] == "RedisTimeoutError"
    trace_path = "/api/traces/" if api == "v1" else "/api/v3/traces/"
    assert rows[0][10] == f"{server.url}{trace_path}{failed.trace_id}#0"
    assert sink.spans.total == 3 * len(traces) == report.rows["spans"]
    assert report.services == ["cart", "currency", "frontend"] and not report.errors and not report.truncated
    assert "30 error traces in the incident" in report.notes
    assert ("/api/services" in paths) == (api == "v1") and ("/api/v3/services" in paths) == (api == "v3")


def test_v1_search_parameters_are_jaegers() -> None:
    with JaegerServer(shop()) as server:
        run(server)
        searches = [r.params for r in server.requests if r.path == "/api/traces"]
    first = searches[0]
    assert first["service"] == "cart" and first["tags"] == '{"error":"true"}' and first["limit"] == "100"
    assert (int(first["start"]), int(first["end"])) == (INCIDENT.start_ns // 1_000, INCIDENT.end_ns // 1_000)
    assert sum("tags" not in s for s in searches) == 3 * 8  # 4 normal and 4 incident sample slices per service


def test_v3_search_parameters_and_streamed_chunks() -> None:
    traces = shop()
    with JaegerServer(traces, stream=True) as server:
        report, sink = run(server, api="v3")
        first = next(r.params for r in server.requests if r.path == "/api/v3/traces")
    assert first["query.service_name"] == "cart" and orjson.loads(first["query.attributes"]) == {"error": "true"}
    assert first["query.start_time_min"] == "2025-11-08T09:30:00.000000000Z" and first["query.num_traces"] == "100"
    assert sink.spans.total == 3 * len(traces) and not report.errors


def test_auto_detects_v3_and_falls_back_to_v1() -> None:
    with JaegerServer(shop()) as server:
        report, _ = run(server, api="auto")
        assert "Jaeger query API v3" in report.notes and "/api/services" not in server.paths()
    with JaegerServer(shop(), v1_only=True) as server:
        report, sink = run(server, api="auto")
        assert "Jaeger query API v1" in report.notes and sink.spans.total == 3 * 90 and not report.errors


@pytest.mark.parametrize("api", ["v1", "v3"])
def test_searches_answering_the_limit_are_sliced_until_every_error_trace_is_found(api: str) -> None:
    traces = shop(errors=60)
    with JaegerServer(traces) as server:
        report, sink = run(server, api=api, search_limit=10, sample_traces=0)
        searches = len(server.paths("/api/v3/traces" if api == "v3" else "/api/traces"))
    with TelemetryStore() as store:
        store.append(sink)
        assert {r[0] for r in store.rows("SELECT DISTINCT trace_id FROM spans")} == error_ids(traces)
        assert store.scalar("SELECT count(*) FROM spans") == 3 * 60
    assert searches > 6 and not report.truncated


def test_the_error_traces_cap_is_shared_between_services_and_reported() -> None:
    rng = random.Random(3)
    cart = [shop_trace(rng, INCIDENT.start_ns + i * NS, error=True) for i in range(20)]
    currency = [shop_trace(rng, INCIDENT.start_ns + i * NS, error=True, callee="currency") for i in range(3)]
    with JaegerServer(cart + currency) as server:
        report, sink = run(server, error_traces=6, sample_traces=0)
    with TelemetryStore() as store:
        store.append(sink)
        services = store.rows("SELECT service, count(DISTINCT trace_id) FROM spans GROUP BY 1 ORDER BY 1")
    assert services == [("cart", 4), ("currency", 2), ("frontend", 6)]  # not the first service's six
    assert report.truncated == ["error traces capped at 6 (error_traces); more exist"]


def test_max_rows_keeps_whole_traces() -> None:
    with JaegerServer(shop()) as server:
        report, sink = run(server, max_rows=20)
    assert sink.spans.total == 18
    assert any("spans capped at 20 (max_rows)" in line for line in report.truncated)


def test_a_400_is_listed_with_jaegers_message_and_the_rest_loads() -> None:
    with JaegerServer(shop()) as server:
        server.answer_next("/api/traces", v1_error(400, "malformed 'tags' parameter"))
        report, sink = run(server)
    assert len(report.errors) == 1 and sink.spans.total > 0
    assert f"jaeger source 'jaeger': GET {server.url}/api/traces: HTTP 400:" in report.errors[0]
    assert "malformed 'tags' parameter" in report.errors[0]


def test_errors_beside_the_data_are_listed() -> None:
    with JaegerServer(shop()) as server:
        server.partial_errors = [{"code": 500, "msg": "trace 42 not found in storage"}]
        report, sink = run(server, sample_traces=0)
    assert sink.spans.total == 30 * 3
    assert len(report.errors) == 3  # one per error search, the only searches here
    assert report.errors[0].endswith("/api/traces?service=cart: Jaeger reported: trace 42 not found in storage")


def test_a_503_is_retried_and_then_succeeds() -> None:
    with JaegerServer(shop()) as server:
        server.answer_next("/api/services", v1_error(503, "storage unavailable"))
        server.answer_next("/api/traces", text_answer(502, "Bad Gateway"), times=2)
        report, sink = run(server, retries=2)
    assert not report.errors and sink.spans.total == 3 * 90


def test_v3_no_traces_is_an_empty_answer_not_a_failure() -> None:
    with JaegerServer(shop(errors=0)) as server:
        report, sink = run(server, api="v3", sample_traces=0)
        required = "query.start_time_min and query.start_time_max are required"
        server.answer_next("/api/v3/traces", v3_error(400, required))
        failed = r"no trace loaded \(1 failure; the first: GET .* HTTP 400: .*are required"
        with pytest.raises(SourceError, match=failed):
            run(server, api="v3", sample_traces=0, services=["cart"])
    assert sink.spans.total == 0 and not report.errors and report.notes[-1] == "no traces in the window"


def test_services_that_cannot_be_listed_stop_the_load() -> None:
    with JaegerServer(shop()) as server:
        server.answer_next("/api/services", v1_error(500, "cassandra: no hosts available"), times=5)
        with pytest.raises(SourceError) as caught:
            run(server, retries=1)
    message = str(caught.value)
    assert message.startswith(f"jaeger source 'jaeger': GET {server.url}/api/services: HTTP 500 after 2 attempts")
    assert "cassandra: no hosts available" in message


def test_every_search_failing_raises() -> None:
    with JaegerServer(shop()) as server:
        server.answer_next("/api/traces", v1_error(500, "storage timeout"), times=100)
        with pytest.raises(SourceError, match=r"no trace loaded \(27 failures; the first: GET .*HTTP 500"):
            run(server, retries=0)


def test_a_server_slower_than_the_timeout_fails_with_a_clear_reason() -> None:
    with JaegerServer(shop()) as server:
        server.delay_seconds = 0.5
        with pytest.raises(SourceError, match=r"/api/services: timed out after 0.2 s"):
            run(server, timeout_seconds=0.2, retries=0)


def test_basic_auth_is_sent_and_the_password_never_shown() -> None:
    password = "jaeger-pa55word"
    with JaegerServer(shop()) as server:
        server.authorization = "Basic " + base64.b64encode(f"reader:{password}".encode()).decode()
        report, sink = run(server, username="reader", password=password, sample_traces=0)
        assert sink.spans.total == 30 * 3 and not report.errors
        with pytest.raises(SourceError) as caught:
            run(server, username="reader", password="not-" + password)
    assert "HTTP 401" in str(caught.value) and password not in str(caught.value)
    assert password not in repr(report) and "reader" not in report.target


def test_services_given_in_the_settings_are_searched_without_listing() -> None:
    with JaegerServer(shop()) as server:
        report, sink = run(server, services=["cart"], sample_traces=0)
        assert "/api/services" not in server.paths()
        assert {r.params["service"] for r in server.requests} == {"cart"}
    assert report.services == ["cart"] and sink.spans.total == 30 * 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"api": "v2"}, "'api' must be one of v1, v3, auto"),
        ({"search_limit": 0}, "'search_limit' must be a whole number from 1"),
        ({"tags": {}}, "unknown key"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_source(parse_source("j", {"kind": "jaeger", "url": "http://127.0.0.1:1", **options}))


@pytest.mark.parametrize(
    ("api", "path", "sample", "spans"),
    [
        ("v1", "/api/traces", "jaeger-api-traces-response.wrapped.json", 5),
        ("v3", "/api/v3/traces", "jaeger-apiv3-GetTrace.json", 1),
    ],
)
def test_recorded_jaeger_answers_are_read(formats_dir: Path, api: str, path: str, sample: str, spans: int) -> None:
    with JaegerServer([]) as server:
        server.answer_next(path, json_answer(200, orjson.loads((formats_dir / sample).read_bytes())))
        report, sink = run(server, api=api, services=["service-x"], sample_traces=0)
    with TelemetryStore() as store:
        store.append(sink)
        assert store.rows("SELECT DISTINCT trace_id FROM spans") == [("0" * 31 + "1",)]
        assert store.scalar("SELECT count(*) FROM spans WHERE status = 'ERROR'") == 1
    assert report.rows == {"spans": spans} and not report.errors
