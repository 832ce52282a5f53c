"""The Prometheus source: its settings, the PromQL it builds, and its behaviour against real servers (values
of every family, narrowing, caps, error statuses, time-outs, credentials). Failures are injected by a
recording proxy in front of the real server; a silent socket stands for a hung backend."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from incidentlens.errors import ConfigError, SourceError
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.config import parse_source
from incidentlens.sources.prometheus import PrometheusSource
from incidentlens.sources.promql import Catalog, Found, found_family, matcher, parse_matchers, percentile, timing
from incidentlens.sources.promql_families import EDGE_FAMILIES, REQUEST_FAMILIES
from incidentlens.sources.protocol import SourceQuery, SourceReport
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.store import TelemetryStore

from .prometheus_servers import MissingBinary, RecordingProxy, Shared, SilentServer, mesh_window, shared_servers

MIN = 60 * 10**9


@pytest.fixture(scope="module")
def servers() -> Shared:
    try:
        return shared_servers()
    except MissingBinary as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["prometheus", "victoria-metrics"])
def backend_url(request: pytest.FixtureRequest, servers: Shared) -> str:
    server = servers.prometheus if request.param == "prometheus" else servers.victoria
    if server is None:
        pytest.skip("victoria-metrics not installed")
    return server.url


def _source(url: str, **entry: Any) -> PrometheusSource:
    source = build_source(parse_source("prom", {"kind": "prometheus", "url": url, "retry_backoff_seconds": 0, **entry}))
    assert isinstance(source, PrometheusSource)
    return source


def _load(
    source: PrometheusSource, window: TimeRange, services: tuple[str, ...] = ()
) -> tuple[SourceReport, TelemetryStore]:
    store = TelemetryStore()
    sink = RowSink()
    sink.attach(store.append_buffer)
    with store.transaction():
        report = source.load(SourceQuery(window, window, services), sink, lambda line: None)
        store.append(sink)
    return report, store


def _steady(store: TelemetryStore, name: str, service: str) -> float:
    """The one value a constant series holds away from the loaded range's edges (where rate() has fewer
    samples); fails when the series is missing or not constant there."""
    rows = store.rows("SELECT value FROM metrics WHERE name = ? AND service = ? ORDER BY ts_ns", [name, service])
    middle = [round(r[0], 9) for r in rows][5:-5]
    assert len(middle) > 40 and len(set(middle)) == 1, (name, service, middle[:5])
    return middle[0]


# --- settings and PromQL (no server) ---


def test_settings_are_validated_with_the_source_name() -> None:
    with pytest.raises(ConfigError, match=r"sources\.prom: unknown key\(s\) step"):
        _source("http://127.0.0.1:9", step=30)
    with pytest.raises(ConfigError, match="'matchers' must be label matchers"):
        _source("http://127.0.0.1:9", matchers="namespace=shop")
    with pytest.raises(ConfigError, match="'quantiles'"):
        _source("http://127.0.0.1:9", quantiles=[95])
    with pytest.raises(ConfigError, match="'min_step'"):
        _source("http://127.0.0.1:9", min_step="1.5s")
    with pytest.raises(ConfigError, match="used twice"):
        _source("http://127.0.0.1:9", queries=[{"name": "a", "expr": "up"}, {"name": "a", "expr": "up"}])
    with pytest.raises(ConfigError, match="'path_prefix'"):
        _source("http://127.0.0.1:9", path_prefix="prometheus")
    with pytest.raises(ConfigError, match="'url' is required"):
        build_source(parse_source("prom", {"kind": "prometheus"}))
    source = _source("http://127.0.0.1:9", min_step="1m", scrape_interval=30, path_prefix="/prometheus/")
    assert (source.options.min_step_s, source.options.scrape_s, source.options.path_prefix) == (60, 30, "/prometheus")


def test_step_fits_the_window_and_rate_windows_follow_the_scrape_interval() -> None:
    start = 1_793_782_800 * 10**9
    forty = timing(TimeRange(start, start + 40 * MIN), min_step_s=15, scrape_s=15)
    assert (forty.step_s, forty.points, forty.rate_window_s, forty.gauge_window_s) == (15, 161, 60, 15)
    week = timing(TimeRange(start + 7, start + 7 * 24 * 60 * MIN), min_step_s=15, scrape_s=30)
    assert 600 <= week.points <= 1000 and week.start_s % week.step_s == 0
    assert week.rate_window_s == week.step_s + 30
    assert timing(TimeRange(start, start + MIN), min_step_s=15, scrape_s=15, rate_window_s=120).rate_window_s == 120


def test_promql_quotes_and_escapes_service_names() -> None:
    assert matcher("service", ["cart", "a.b+c"]) == 'service=~"a\\\\.b\\\\+c|cart"'
    assert parse_matchers('a="x", b=~"y|z"') == [("a", "=", "x"), ("b", "=~", "y|z")]
    assert [percentile(q) for q in (0.5, 0.95, 0.999)] == ["p50", "p95", "p999"]


def test_the_service_label_is_guessed_per_family_or_forced_for_application_series() -> None:
    catalog = Catalog(
        [
            {"__name__": "http_requests_total", "job": "kubernetes-pods", "app": "cart", "code": "200"},
            {"__name__": "http_requests_total", "job": "kubernetes-pods", "app": "ad", "code": "500"},
            {"__name__": "istio_requests_total", "reporter": "source", "source_workload": "web", "app": "web"},
        ],
        names=["http_request_duration_seconds_bucket"],
    )
    http = next(f for f in REQUEST_FAMILIES if f.key == "prometheus-http")
    istio = next(f for f in EDGE_FAMILIES if f.key == "istio-client")
    assert found_family(http, catalog, "") == Found("app", frozenset({"ad", "cart"}))  # app before job
    assert found_family(http, catalog, "job") == Found("job", frozenset({"kubernetes-pods"}))
    assert found_family(http, catalog, "", wanted=["cart"]) == Found("app", frozenset({"cart"}))
    assert found_family(istio, catalog, "job") == Found("source_workload", frozenset({"web"}))
    assert next(f for f in EDGE_FAMILIES if f.key == "istio-server").requests == istio.requests
    assert found_family(next(f for f in EDGE_FAMILIES if f.key == "istio-server"), catalog, "") is None


# --- real servers ---


def test_every_family_loads_with_its_values(servers: Shared, backend_url: str) -> None:
    user = [{"name": "api_jobs_per_second", "expr": "sum(rate(jobs_processed_total[$__rate_interval]))"}]
    report, store = _load(_source(backend_url, queries=user), mesh_window())

    assert report.errors == [] and report.truncated == []
    assert report.services == ["api", "db", "web"]
    for family in ("istio", "linkerd", "servicegraph"):
        assert _steady(store, f"{family}_server_requests_per_second", "api") == pytest.approx(10.0)
        assert _steady(store, f"{family}_client_requests_per_second", "web") == pytest.approx(10.0)
        assert _steady(store, f"{family}_server_error_ratio", "api") == pytest.approx(0.1)
        assert _steady(store, f"{family}_server_error_ratio", "db") == 0.0  # db never failed: 0, not missing
        # every request takes 40 ms, inside the 10-50 ms bucket: 10 + 0.95 * 40 ms
        assert _steady(store, f"{family}_server_request_duration_seconds_p95", "db") == pytest.approx(0.048)
    labels = store.rows("SELECT DISTINCT labels FROM metrics WHERE name = 'istio_server_requests_per_second'")
    assert sorted(orjson.loads(r[0])["source_workload"] for r in labels) == ["api", "web"]
    assert orjson.loads(labels[0][0]).keys() == {"destination_workload", "source_workload", "namespace"}
    assert _steady(store, "queue_depth", "api") == 7.0
    assert _steady(store, "jobs_processed_per_second", "api") == pytest.approx(3.0)
    assert _steady(store, "api_jobs_per_second", "") == pytest.approx(3.0)
    window = mesh_window()
    assert report.first_ns is not None and report.last_ns is not None
    assert window.start_ns <= report.first_ns < report.last_ns <= window.end_ns
    assert report.rows == {"metrics": store.scalar("SELECT count(*) FROM metrics")}


def test_services_narrow_discovery_and_queries(servers: Shared) -> None:
    proxy = RecordingProxy(servers.prometheus.url)
    with proxy:
        report, store = _load(_source(proxy.url), mesh_window(), services=("db",))
    assert report.services == ["db"]
    assert {r[0] for r in store.rows("SELECT DISTINCT service FROM metrics")} == {"db"}
    discovery = [r for r in proxy.requests if r.path in ("/api/v1/series", "/api/v1/label/__name__/values")]
    assert len(discovery) >= 3 and all('=~"db"' in m for r in discovery for m in r.form["match[]"])
    queries = [r.form["query"][0] for r in proxy.requests if r.path == "/api/v1/query_range"]
    assert queries and all('=~"db"' in q for q in queries)


def test_matchers_are_added_to_every_selector(servers: Shared) -> None:
    with RecordingProxy(servers.prometheus.url) as proxy:
        report, store = _load(_source(proxy.url, matchers='namespace="mesh"'), mesh_window())
    sent = [m for r in proxy.requests for m in r.form.get("match[]", r.form.get("query", []))]
    assert sent and all('namespace="mesh"' in m for m in sent)
    names = {r[0] for r in store.rows("SELECT DISTINCT name FROM metrics")}
    assert "istio_server_requests_per_second" in names
    assert not any(n.startswith("servicegraph_") for n in names)  # the service graph has no namespace label
    assert report.errors == []


def test_series_cap_is_reported_and_narrows_the_queries(backend_url: str) -> None:
    # Prometheus 2.x ignores `limit` and the source cuts the answer; VictoriaMetrics stops at `limit` itself.
    report, store = _load(_source(backend_url, max_series=3), mesh_window())
    assert any("istio_requests_total: series discovery capped at 3 (max_series)" in t for t in report.truncated)
    full, _ = _load(_source(backend_url), mesh_window())
    assert 0 < report.rows["metrics"] < full.rows["metrics"]
    istio = {r[0] for r in store.rows("SELECT DISTINCT service FROM metrics WHERE name LIKE 'istio_%'")}
    assert istio and istio < {"api", "db", "web"}


def test_row_cap_truncates_and_skips_the_remaining_queries(servers: Shared) -> None:
    report, store = _load(_source(servers.prometheus.url, max_rows=500), mesh_window())
    assert report.rows == {"metrics": 500} and store.scalar("SELECT count(*) FROM metrics") == 500
    assert any("capped at 500 (max_rows)" in line for line in report.truncated)
    assert any("queries not run: the row cap was reached" in line for line in report.truncated)


def test_a_rejected_query_is_an_error_line_and_the_others_are_kept(backend_url: str) -> None:
    broken = [{"name": "broken", "expr": "sum(rate(jobs_processed_total[5m]"}]
    report, store = _load(_source(backend_url, queries=broken), mesh_window())
    assert len(report.errors) == 1
    assert report.errors[0].startswith("query broken: prometheus source 'prom': POST ")
    assert "/api/v1/query_range: HTTP 4" in report.errors[0]  # 400 from Prometheus, 422 from VictoriaMetrics
    assert report.rows["metrics"] > 1000 and store.scalar("SELECT count(*) FROM metrics WHERE name = 'broken'") == 0


def test_a_transient_503_is_retried_and_a_permanent_one_reported(servers: Shared) -> None:
    failures = {"left": 1}

    def once(path: str, form: dict[str, list[str]]) -> tuple[int, str] | None:
        if path == "/api/v1/query_range" and failures["left"]:
            failures["left"] -= 1
            return 503, '{"status":"error","errorType":"unavailable","error":"too many queries"}'
        return None

    with RecordingProxy(servers.prometheus.url, behaviour=once) as proxy:
        report, _ = _load(_source(proxy.url, retries=2), mesh_window())
    queries = [r for r in proxy.requests if r.path == "/api/v1/query_range"]
    assert report.errors == [] and report.requests == len(proxy.requests)
    assert len(queries) == len({r.form["query"][0] for r in queries}) + 1  # the first one was sent twice

    def ratios_fail(path: str, form: dict[str, list[str]]) -> tuple[int, str] | None:
        if path == "/api/v1/query_range" and " or " in form["query"][0]:
            return 503, '{"status":"error","errorType":"unavailable","error":"overloaded"}'
        return None

    with RecordingProxy(servers.prometheus.url, behaviour=ratios_fail) as proxy:
        report, store = _load(_source(proxy.url, retries=1), mesh_window())
    assert len(report.errors) == 6  # one error ratio per edge family and side
    assert all("error_ratio" in e and "HTTP 503 after 2 attempts: " in e for e in report.errors)
    assert store.scalar("SELECT count(*) FROM metrics WHERE name LIKE '%error_ratio'") == 0
    assert store.scalar("SELECT count(*) FROM metrics WHERE name LIKE '%requests_per_second'") > 0


def test_a_hung_backend_times_out(servers: Shared) -> None:
    with SilentServer() as silent:
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"timed out after 0\.3 s") as caught:
            _load(_source(silent.url, timeout_seconds=0.3, retries=0), mesh_window())
    assert time.monotonic() - started < 5
    assert f"GET {silent.url}/api/v1/label/__name__/values: " in str(caught.value)

    def stall_quantiles(path: str, form: dict[str, list[str]]) -> str | None:
        query = form["query"][0] if path == "/api/v1/query_range" else ""
        return "stall" if "histogram_quantile" in query and "istio" in query else None

    with RecordingProxy(servers.prometheus.url, behaviour=stall_quantiles) as proxy:
        report, store = _load(_source(proxy.url, timeout_seconds=0.3, retries=0), mesh_window())
    assert len(report.errors) == 2  # Istio's served and seen latency; the other 18 queries answered
    assert all(e.startswith("query istio_") and "timed out after 0.3 s" in e for e in report.errors)
    assert store.scalar("SELECT count(*) FROM metrics WHERE name LIKE '%requests_per_second'") > 0


def test_credentials_tenant_and_path_prefix(servers: Shared, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "s3cr3t-t0ken-value"
    monkeypatch.setenv("PROM_TOKEN", token)
    entry = {"bearer_token_env": "PROM_TOKEN", "headers": {"X-Scope-OrgID": "team-a"}, "path_prefix": "/prometheus"}
    with RecordingProxy(servers.prometheus.url, strip_prefix="/prometheus") as proxy:
        report, _ = _load(_source(proxy.url, **entry), mesh_window())
    assert report.rows["metrics"] > 0 and report.errors == []
    assert proxy.requests and all(r.path.startswith("/prometheus/api/v1/") for r in proxy.requests)
    assert all(r.headers.get("Authorization") == f"Bearer {token}" for r in proxy.requests)
    assert all(r.headers.get("X-Scope-OrgID") == "team-a" for r in proxy.requests)
    assert token not in repr(report.__dict__)

    def unauthorized(path: str, form: dict[str, list[str]]) -> tuple[int, str]:
        return 401, "bad credentials"

    with (
        RecordingProxy(servers.prometheus.url, behaviour=unauthorized) as proxy,
        pytest.raises(SourceError, match="HTTP 401: bad credentials") as caught,
    ):
        _load(_source(proxy.url, **entry), mesh_window())
    assert token not in str(caught.value)
