"""ElasticsearchSource (kinds elasticsearch, opensearch) against a local server speaking the search API."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest

from incidentlens.errors import ConfigError, SourceError
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.config import parse_source
from incidentlens.sources.elasticsearch import ElasticsearchSource
from incidentlens.sources.logwindow import iso
from incidentlens.sources.protocol import SourceQuery, SourceReport
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.store import TelemetryStore

from .elasticsearch_server import (
    BACKING_INDEX,
    MINUTE,
    Doc,
    ElasticsearchServer,
    generate_docs,
    iso_ms,
    parse_date_ns,
)

START = 1_767_225_600 * 1_000_000_000  # 2026-01-01T00:00:00Z
MINUTES = 30
INCIDENT_MINUTE = 20
QUERY = SourceQuery(
    window=TimeRange(START, START + MINUTES * MINUTE),
    incident=TimeRange(START + INCIDENT_MINUTE * MINUTE, START + MINUTES * MINUTE),
)
PASSWORD = "pa55-w0rd-secret"


def docs() -> list[Doc]:
    return generate_docs(START, MINUTES, incident_from_minute=INCIDENT_MINUTE)


def expected(chosen: list[Doc]) -> Counter[tuple[int, str, str]]:
    return Counter(
        (parse_date_ns(d.source["@timestamp"]), d.source["service"]["name"], d.source["message"]) for d in chosen
    )


def source(url: str, kind: str = "elasticsearch", **entry: Any) -> ElasticsearchSource:
    config = parse_source("es", {"kind": kind, "url": url, "retries": 0, "retry_backoff_seconds": 0, **entry})
    built = build_source(config)
    assert isinstance(built, ElasticsearchSource)
    return built


def load(src: ElasticsearchSource, query: SourceQuery = QUERY) -> tuple[RowSink, SourceReport, list[str]]:
    sink = RowSink()
    said: list[str] = []
    report = src.load(query, sink, said.append)
    return sink, report, said


def keys(sink: RowSink) -> list[tuple[int, str, str]]:
    arrays = sink.logs.to_arrays()
    return [(int(arrays["ts_ns"][i]), str(arrays["service"][i]), str(arrays["body"][i])) for i in range(len(sink.logs))]


def test_pages_with_a_point_in_time_and_the_implicit_tiebreaker() -> None:
    data = docs()
    with ElasticsearchServer(data) as server:
        sink, report, said = load(source(server.url, page_size=7))
    got = keys(sink)
    assert len(got) == len(data) == 360 and Counter(got) == expected(data)
    assert report.rows == {"logs": 360} and not report.truncated and not report.errors and not report.notes
    assert report.services == ["cart", "checkout", "payment"] and report.target == f"{server.url}/logs-*"
    first, *searches, last = server.requests
    assert (first.method, first.path, first.params) == ("POST", "/logs-*/_pit", {"keep_alive": "1m"})
    assert len(searches) > 50 and all(r.path == "/_search" for r in searches)
    assert all(len(r.body["sort"]) == 1 and "@timestamp" in r.body["sort"][0] for r in searches)
    assert all(len(r.body.get("search_after", [0, 0])) == 2 for r in searches)  # + _shard_doc
    # The incident first (oldest first), then the normal period from the incident backwards.
    assert searches[0].body["query"]["bool"]["filter"][0]["range"]["@timestamp"]["gte"].startswith("2026-01-01T00:20")
    assert searches[-1].body["sort"][0]["@timestamp"]["order"] == "desc"
    assert [r.body["track_total_hits"] for r in searches].count(True) == 2
    # Each page used the newest PIT id, and the last one was closed.
    assert (last.method, last.path, last.body) == ("DELETE", "/_pit", {"id": server.closed_pits[0]})
    assert not server.open_pits and said[0] == "es: opening a point in time on logs-*"


def test_opensearch_point_in_time_with_an_id_tiebreaker() -> None:
    data = docs()
    with ElasticsearchServer(data, flavour="opensearch") as server:
        sink, report, _ = load(source(server.url, kind="opensearch", page_size=11))
    assert Counter(keys(sink)) == expected(data) and report.kind == "opensearch" and not report.notes
    assert server.requests[0].path == "/logs-*/_search/point_in_time"
    assert all(r.body["sort"][1] in ({"_id": {"order": "asc"}}, {"_id": {"order": "desc"}}) for r in server.searches())
    assert server.requests[-1].path == "/_search/point_in_time" and not server.open_pits


def test_without_a_point_in_time_pages_by_index_search() -> None:
    data = docs()
    with ElasticsearchServer(data, flavour="legacy") as server:
        sink, report, _ = load(source(server.url, page_size=9))
    assert Counter(keys(sink)) == expected(data)
    assert report.notes == [
        "no point in time (HTTP 400 from /logs-*/_pit); paging with search_after on @timestamp and _id, "
        "so lines written meanwhile may shift pages"
    ]
    assert all(r.path == "/logs-*/_search" and "pit" not in r.body for r in server.searches())


def test_services_filter_and_field_overrides() -> None:
    custom = [
        Doc(f"d{i}", "app-logs", {"ts": iso_ms(START + i * MINUTE), "app": svc, "msg": f"{i}", "sev": "WARNING"}, i)
        for i, svc in enumerate(["cart", "payment", "payment", "cart"])
    ]
    with ElasticsearchServer(custom) as server:
        src = source(
            server.url,
            index="app-logs",
            fields={"timestamp": "ts", "service": "app", "message": "msg", "level": "sev"},
        )
        sink, report, _ = load(src, SourceQuery(QUERY.window, QUERY.incident, ("payment",)))
    rows = sink.logs.to_arrays()
    assert list(rows["body"]) == ["2", "1"] and set(rows["service"]) == {"payment"}  # the normal period: newest first
    assert set(rows["level"]) == {"WARN"} and list(rows["ts_ns"]) == [START + 2 * MINUTE, START + MINUTE]
    search = server.searches()[0].body
    assert search["query"]["bool"]["filter"][1] == {"terms": {"app": ["payment"]}}
    assert "ts" in search["query"]["bool"]["filter"][0]["range"] and "ts" in search["sort"][0]
    assert report.services == ["payment"]


def test_a_rejected_search_is_a_source_error_with_the_reason_and_the_pit_is_closed() -> None:
    with ElasticsearchServer(docs()) as server:
        server.fail(400, "parsing_exception", "[bool] failed to parse field [filter]", only="/_search")
        with pytest.raises(SourceError) as caught:
            load(source(server.url))
        assert not server.open_pits
    message = str(caught.value)
    assert message.startswith(f"elasticsearch source 'es': POST {server.url}/_search: HTTP 400: ")
    assert '"type":"parsing_exception","reason":"[bool] failed to parse field [filter]"' in message


def test_a_missing_index_is_a_source_error() -> None:
    with ElasticsearchServer(docs()) as server, pytest.raises(SourceError) as caught:
        load(source(server.url, index="nope"))
    assert "POST " + server.url + "/nope/_search: HTTP 404" in str(caught.value)
    assert "no such index [nope]" in str(caught.value)


def test_retries_503_and_429_then_succeeds() -> None:
    data = docs()
    with ElasticsearchServer(data) as server:
        server.fail(503, "search_phase_execution_exception", "all shards failed", only="/_search")
        server.fail(429, "es_rejected_execution_exception", "rejected", only="/_search", headers={"Retry-After": "0"})
        sink, report, _ = load(source(server.url, retries=2, page_size=100))
    assert Counter(keys(sink)) == expected(data) and not report.errors
    assert report.requests == len(server.requests)


def test_permanent_5xx_fails_after_the_retries() -> None:
    with ElasticsearchServer(docs()) as server:
        server.fail(503, "search_phase_execution_exception", "all shards failed", times=5, only="/_search")
        with pytest.raises(SourceError, match="HTTP 503 after 2 attempts"):
            load(source(server.url, retries=1))
        assert not server.open_pits


def test_timeout() -> None:
    with ElasticsearchServer(docs(), delay=2.0) as server, pytest.raises(SourceError) as caught:
        load(source(server.url, timeout_seconds=0.2))
    assert "timed out after 0.2 s" in str(caught.value) and "elasticsearch source 'es'" in str(caught.value)


def test_shard_failures_are_reported_once() -> None:
    with ElasticsearchServer(docs(), shard_failure=True) as server:
        _, report, _ = load(source(server.url, page_size=50))
    assert report.errors == [
        "1 of 2 shards failed (node_not_connected_exception: [n1][127.0.0.1:9300] Node not connected); "
        "their lines are missing"
    ]


def test_row_cap_keeps_the_incident_and_the_newest_normal_lines() -> None:
    data = docs()
    incident = [d for d in data if d.source["@timestamp"] >= "2026-01-01T00:20"]
    normal = sorted((k[0] for k in expected(data).elements() if k[0] < QUERY.incident.start_ns), reverse=True)
    with ElasticsearchServer(data) as server:
        sink, report, _ = load(source(server.url, max_rows=len(incident) + 50, page_size=30))
    got = keys(sink)
    assert Counter(k for k in got if k[0] >= QUERY.incident.start_ns) == expected(incident)
    kept_normal = [k[0] for k in got if k[0] < QUERY.incident.start_ns]
    assert len(kept_normal) == 50 and min(kept_normal) >= normal[49]
    assert report.truncated == [
        f"logs capped at {len(incident) + 50} rows (max_rows), read incident first: the normal period was loaded "
        f"back to {iso(normal[49])} only (older lines left out) (50 of {len(normal)} lines)"
    ]


def test_basic_auth_sent_and_never_shown() -> None:
    with ElasticsearchServer(docs(), user="elastic", password=PASSWORD) as server:
        sink, report, _ = load(source(server.url, username="elastic", password=PASSWORD, page_size=500))
        assert len(keys(sink)) == 360
        assert all(r.headers["authorization"].startswith("Basic ") for r in server.requests)
        with pytest.raises(SourceError) as caught:
            load(source(server.url, username="elastic", password="wrong-" + PASSWORD))
    assert "HTTP 401" in str(caught.value) and "unable to authenticate user [elastic]" in str(caught.value)
    for text in (str(caught.value), repr(report), str(report.__dict__)):
        assert PASSWORD not in text


def test_loads_ecs_into_the_telemetry_store_with_row_values() -> None:
    with ElasticsearchServer(docs()) as server:
        sink, report, _ = load(source(server.url))
    with TelemetryStore() as store:
        assert store.append(sink) == {"logs": 360}
        row = store.rows(
            "SELECT ts_ns, service, level, body, trace_id, span_id, logger, exception_type, frames, attributes, "
            "source FROM logs WHERE level = 'ERROR' ORDER BY ts_ns LIMIT 1"
        )[0]
        levels = dict(store.rows("SELECT level, count(*) FROM logs GROUP BY level"))
        bounds = store.rows("SELECT min(ts_ns), max(ts_ns) FROM logs")[0]
    ts, service, level, body, trace_id, span_id, logger, exception_type, frames, attributes, where = row
    assert ts == QUERY.incident.start_ns and service == "payment" and level == "ERROR"
    assert body == f"charge failed minute={INCIDENT_MINUTE} i=0"
    assert trace_id == f"{INCIDENT_MINUTE:08x}{0:08x}{2:016x}" and span_id == f"{INCIDENT_MINUTE:08x}{0:08x}"
    assert logger == "com.shop.payment.PaymentService" and exception_type == "java.net.ConnectException"
    assert orjson.loads(frames)[0]["function"] == "connect0"
    attrs = orjson.loads(attributes)
    assert attrs["host.name"] == "node-2" and attrs["service.environment"] == "prod"
    assert where.startswith(f"elasticsearch:es/{BACKING_INDEX}/")
    assert levels == {"INFO": 340, "ERROR": 20} and bounds == (report.first_ns, report.last_ns)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"page_size": 20_000}, "'page_size' must be a whole number of hits from 1 to 10000"),
        ({"index": "logs/x"}, "'index' must be an index, alias, data stream or pattern"),
        ({"fields": {"svc": "app"}}, "'fields' has unknown role[(]s[)] svc"),
        ({"fields": ["app"]}, "'fields' must map roles to field names"),
        ({"tiebreaker": 3}, "'tiebreaker' must be the name of a field"),
        ({"pit": True}, "unknown key[(]s[)] pit for kind 'elasticsearch'"),
    ],
)
def test_option_errors(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        source("http://127.0.0.1:9", **entry)
