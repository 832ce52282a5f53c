"""LokiSource against a local server speaking Loki's HTTP API: paging, discovery, errors, caps, auth, store."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest

from incidentlens.errors import ConfigError, SourceError
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.config import parse_source
from incidentlens.sources.loki import LokiSource
from incidentlens.sources.protocol import SourceQuery, SourceReport
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.store import TelemetryStore

from .loki_server import MINUTE, LokiLine, LokiServer, generate_lines

START = 1_767_225_600 * 1_000_000_000  # 2026-01-01T00:00:00Z
MINUTES = 30
INCIDENT_MINUTE = 20
QUERY = SourceQuery(
    window=TimeRange(START, START + MINUTES * MINUTE),
    incident=TimeRange(START + INCIDENT_MINUTE * MINUTE, START + MINUTES * MINUTE),
)
SECRET = "s3cr3t-token-value"


def lines(**kwargs: Any) -> list[LokiLine]:
    return generate_lines(START, MINUTES, incident_from_minute=INCIDENT_MINUTE, **kwargs)


def source(url: str, **entry: Any) -> LokiSource:
    config = parse_source("loki", {"kind": "loki", "url": url, "retries": 0, "retry_backoff_seconds": 0, **entry})
    built = build_source(config)
    assert isinstance(built, LokiSource)
    return built


def load(src: LokiSource, query: SourceQuery = QUERY) -> tuple[RowSink, SourceReport, list[str]]:
    sink = RowSink()
    said: list[str] = []
    report = src.load(query, sink, said.append)
    return sink, report, said


def rows(sink: RowSink) -> list[dict[str, Any]]:
    arrays = sink.logs.to_arrays()
    return [{k: arrays[k][i] for k in arrays} for i in range(len(sink.logs))]


def keys(sink: RowSink) -> list[tuple[int, str, str]]:
    return [(int(r["ts_ns"]), str(r["service"]), str(r["body"])) for r in rows(sink)]


def test_pages_every_line_once_across_equal_timestamps() -> None:
    data = lines()
    with LokiServer(data) as server:
        sink, report, said = load(source(server.url, limit=7, slice_minutes=10))
    got = keys(sink)
    assert len(got) == len(data) == 450
    assert Counter(got) == Counter((x.ts_ns, x.labels["service_name"], x.line) for x in data)
    assert report.rows == {"logs": 450} and not report.truncated and not report.errors
    assert (report.first_ns, report.last_ns) == (data[0].ts_ns, max(x.ts_ns for x in data))
    assert report.services == ["cart", "checkout", "payment"]
    pages = server.query_requests()
    assert len(pages) > 75 and all(int(p.params["limit"]) <= 7 for p in pages)
    assert all(p.params["query"] == '{service_name=~".+"}' for p in pages)
    # The incident is read first, forward; then the normal period backward from the incident.
    incident_start = str(QUERY.incident.start_ns)
    assert pages[0].params["direction"] == "forward" and pages[0].params["start"] == incident_start
    forward = [p for p in pages if p.params["direction"] == "forward"]
    backward = [p for p in pages if p.params["direction"] == "backward"]
    assert all(int(p.params["start"]) >= QUERY.incident.start_ns for p in forward)
    assert pages.index(backward[0]) == len(forward) and backward[0].params["end"] == incident_start
    assert [int(p.params["end"]) for p in backward] == sorted((int(p.params["end"]) for p in backward), reverse=True)
    assert said and said[0].startswith("loki: ") and any("normal period" in s for s in said)


def test_more_lines_at_one_instant_than_a_page_is_reported() -> None:
    with LokiServer(lines()) as server:
        sink, report, _ = load(source(server.url, limit=4, slice_minutes=60))
    assert report.errors == [
        "query 1: at 30 instant(s) (first 2026-01-01T00:00:00.000000000Z) more lines share one timestamp "
        "than a page of 4 holds; the rest of each was skipped (raise 'limit')"
    ]
    assert len(keys(sink)) == len(set(keys(sink))) < 450


def test_discovers_an_older_label_and_narrows_to_the_services() -> None:
    with LokiServer(lines(label="app")) as server:
        sink, report, _ = load(source(server.url), SourceQuery(QUERY.window, QUERY.incident, ("payment", "cart.v2")))
    assert {r["service"] for r in rows(sink)} == {"payment"} and len(rows(sink)) == 150
    assert server.query_requests()[0].params["query"] == '{app=~"payment|cart\\\\.v2"}'
    assert [r.path for r in server.requests[:3]] == [
        "/loki/api/v1/labels",
        "/loki/api/v1/label/app/values",
        "/loki/api/v1/query_range",
    ]
    assert report.notes == ["no streams with app = cart.v2 in the window"]


def test_selector_narrowed_to_services_and_extra_queries_loaded_once() -> None:
    extra = '{namespace="shop"} |= "charge failed"'
    with LokiServer(lines()) as server:
        src = source(server.url, selector='{namespace="shop"}', service_label="service_name", queries=[extra])
        sink, report, _ = load(src, SourceQuery(QUERY.window, QUERY.incident, ("payment",)))
    sent = {p.params["query"] for p in server.query_requests()}
    assert sent == {'{namespace="shop", service_name=~"payment"}', extra}
    assert len(keys(sink)) == len(set(keys(sink))) == 150  # the extra query's lines were already loaded
    assert not report.errors


def test_bad_extra_query_is_an_error_in_the_report_with_lokis_reason() -> None:
    with LokiServer(lines()) as server:
        src = source(server.url, queries=['{namespace="shop" |= "x"', 'sum(count_over_time({namespace="shop"}[1m]))'])
        sink, report, _ = load(src)
    assert len(rows(sink)) == 450
    assert len(report.errors) == 2
    assert "query 2" in report.errors[0] and "HTTP 400: parse error at line 1" in report.errors[0]
    assert "query 3" in report.errors[1] and "metric query (resultType 'matrix')" in report.errors[1]


def test_a_query_loki_rejects_and_nothing_else_is_a_source_error() -> None:
    with LokiServer(lines()) as server, pytest.raises(SourceError) as caught:
        load(source(server.url, selector='{namespace=~".*"}'))
    message = str(caught.value)
    assert message.startswith("query 1 {namespace=~\".*\"}: loki source 'loki': GET http://127.0.0.1:")
    assert "HTTP 400: queries require at least one regexp or equality matcher" in message


def test_retries_503_and_429_then_succeeds() -> None:
    with LokiServer(lines()) as server:
        server.fail(503, "upstream connect error\n")
        server.fail(429, "too many outstanding requests\n", headers={"Retry-After": "0"})
        sink, report, _ = load(source(server.url, retries=2))
    assert len(rows(sink)) == 450 and not report.errors
    assert report.requests == len(server.requests)


def test_permanent_5xx_fails_after_the_retries() -> None:
    with LokiServer(lines()) as server, pytest.raises(SourceError) as caught:
        server.fail(503, "upstream connect error\n", times=10)
        load(source(server.url, retries=1))
    assert "HTTP 503 after 2 attempts: upstream connect error" in str(caught.value)


def test_timeout() -> None:
    with LokiServer(lines(), delay=2.0) as server, pytest.raises(SourceError) as caught:
        load(source(server.url, timeout_seconds=0.2))
    assert "timed out after 0.2 s" in str(caught.value) and "loki source 'loki'" in str(caught.value)


def test_row_cap_keeps_the_incident_and_the_newest_normal_lines() -> None:
    data = lines()
    incident = [x for x in data if x.ts_ns >= QUERY.incident.start_ns]
    normal = sorted((x.ts_ns for x in data if x.ts_ns < QUERY.incident.start_ns), reverse=True)
    with LokiServer(data) as server:
        sink, report, _ = load(source(server.url, max_rows=len(incident) + 50, limit=20))
    got = keys(sink)
    assert len(got) == len(incident) + 50 == report.row_total
    assert Counter(k for k in got if k[0] >= QUERY.incident.start_ns) == Counter(
        (x.ts_ns, x.labels["service_name"], x.line) for x in incident
    )
    kept_normal = [k[0] for k in got if k[0] < QUERY.incident.start_ns]
    assert len(kept_normal) == 50 and min(kept_normal) >= normal[49]
    assert len(report.truncated) == 1
    message = report.truncated[0]
    assert message.startswith(f"logs capped at {len(incident) + 50} rows (max_rows), read incident first: ")
    assert "the normal period was loaded back to 2026-01-01T00:" in message and "older lines left out" in message


def test_follows_the_servers_max_entries_limit() -> None:
    with LokiServer(lines(), max_entries=50) as server:
        sink, report, _ = load(source(server.url, limit=5000))
    assert len(rows(sink)) == 450
    assert "the server allows at most 50 lines per request; paging by that" in report.notes


def test_credentials_sent_and_never_shown() -> None:
    with LokiServer(lines(), org_id="team-a", bearer=SECRET) as server:
        sink, report, _ = load(source(server.url, bearer_token=SECRET, headers={"X-Scope-OrgID": "team-a"}))
        assert len(rows(sink)) == 450
        assert all(r.headers["authorization"] == f"Bearer {SECRET}" for r in server.requests)
        assert all(r.headers["x-scope-orgid"] == "team-a" for r in server.requests)
        with pytest.raises(SourceError) as no_org:
            load(source(server.url, bearer_token=SECRET))
        with pytest.raises(SourceError) as wrong:
            load(source(server.url, bearer_token="wrong-" + SECRET, headers={"X-Scope-OrgID": "team-a"}))
    assert "HTTP 401: no org id" in str(no_org.value)
    assert "HTTP 401: Unauthorized" in str(wrong.value)
    for text in (str(no_org.value), str(wrong.value), repr(report), str(report.__dict__)):
        assert SECRET not in text


def test_loads_into_the_telemetry_store_with_row_values() -> None:
    with LokiServer(lines()) as server:
        sink, report, _ = load(source(server.url, slice_minutes=7))
    with TelemetryStore() as store:
        assert store.append(sink) == {"logs": 450}
        error = store.rows(
            "SELECT ts_ns, service, level, body, trace_id, attributes FROM logs "
            "WHERE level = 'ERROR' ORDER BY ts_ns LIMIT 1"
        )[0]
        counts = dict(store.rows("SELECT level, count(*) FROM logs GROUP BY level"))
        bounds = store.rows("SELECT min(ts_ns), max(ts_ns) FROM logs")[0]
    ts, service, level, body, trace_id, attributes = error
    assert ts == START + INCIDENT_MINUTE * MINUTE and service == "payment" and level == "ERROR"
    assert body == f'level=error msg="charge failed: connection refused" minute={INCIDENT_MINUTE} i=0'
    assert trace_id == f"{INCIDENT_MINUTE:08x}{0:08x}{2:016x}"
    assert orjson.loads(attributes)["namespace"] == "shop"
    assert counts == {"INFO": 340, "DEBUG": 90, "ERROR": 20} and bounds == (report.first_ns, report.last_ns)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"limit": 0}, "'limit' must be a whole number"),
        ({"selector": "namespace=shop"}, "'selector' must be a LogQL stream selector"),
        ({"queries": '{a="b"}'}, "'queries' must be a list"),
        ({"service_label": "service.name"}, "'service_label' must be a Loki label name"),
        ({"slice_minutes": 0}, "'slice_minutes' must be a positive number"),
        ({"direction": "forward"}, "unknown key(s) direction for kind 'loki'"),
    ],
)
def test_option_errors(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        source("http://127.0.0.1:9", **entry)


@pytest.mark.parametrize(("max_rows", "truncated"), [(150, ["the normal period was not loaded"]), (450, [])])
def test_row_cap_at_a_part_border_or_exactly_everything(max_rows: int, truncated: list[str]) -> None:
    with LokiServer(lines()) as server:
        sink, report, _ = load(source(server.url, max_rows=max_rows, limit=20))
    assert len(rows(sink)) == max_rows
    assert [t.split(": ", 1)[1] for t in report.truncated] == truncated
