"""Service-mesh and servicegraph edge series as call edges: the callee every caller's edge degrades."""

from __future__ import annotations

import orjson

from incidentlens.analyze.call_edges import Side, call_edge_findings, call_graph_edges, edge_series
from incidentlens.analyze.metrics import MetricKind
from incidentlens.model import TimeRange
from incidentlens.telemetry.rows import EdgeMetricSeries

STEP = 60 * 10**9
BASE = TimeRange(0, 30 * STEP)
INCIDENT = TimeRange(30 * STEP, 33 * STEP)
TIMES = tuple(i * STEP for i in range(34))


def _series(name: str, labels: dict[str, str], normal: float, incident: tuple[float, ...]) -> EdgeMetricSeries:
    wiggle = [normal * (1 + 0.04 * ((i % 5) - 2)) for i in range(30)]
    return EdgeMetricSeries(name, orjson.dumps(labels).decode(), TIMES, (*wiggle, *incident))


def _istio(caller: str, callee: str, reporter: str, normal: float, incident: tuple[float, ...]) -> EdgeMetricSeries:
    labels = {"source_workload": caller, "destination_workload": callee, "reporter": reporter}
    return _series("request_duration_seconds_p50", labels, normal, incident)


def _mesh(slow_client: set[str], slow_server: set[str]) -> list[EdgeMetricSeries]:
    """frontend -> checkout -> cart, frontend -> cart, frontend -> ad; the named edges slow down 40x."""
    out = []
    for caller, callee in (("frontend", "checkout"), ("checkout", "cart"), ("frontend", "cart"), ("frontend", "ad")):
        for reporter, slow in (("source", slow_client), ("destination", slow_server)):
            edge = f"{caller}->{callee}"
            during = (0.2, 0.21, 0.2, 0.19) if edge in slow else (0.005,) * 4
            out.append(_istio(caller, callee, reporter, 0.005, during))
    return out


def test_every_caller_slowed_on_their_side_only_is_the_callees_network() -> None:
    series = _mesh(
        slow_client={"checkout->cart", "frontend->cart", "frontend->checkout"}, slow_server={"frontend->checkout"}
    )
    analysis = call_edge_findings(edge_series(series), baseline=BASE, incident=INCIDENT)
    by_service = {f.service: f for f in analysis.findings}
    assert by_service["cart"].fault.value == "network" and by_service["cart"].score > 0.5
    # checkout is slower to serve, but its own calls to cart grew as much: a victim, discounted
    assert by_service["checkout"].score < 0.5 * by_service["cart"].score
    assert "ad" not in by_service
    summary = analysis.evidence[by_service["cart"].evidence_ids[0]].summary
    assert "2 of the 2 callers of cart" in summary and "network" in summary


def test_one_caller_of_two_is_not_enough() -> None:
    series = _mesh(slow_client={"frontend->cart"}, slow_server={"frontend->cart"})
    assert call_edge_findings(edge_series(series), baseline=BASE, incident=INCIDENT).findings == []


def test_a_single_blip_is_not_a_degradation() -> None:
    series = [_istio("frontend", "ad", "source", 0.005, (0.5, 0.005, 0.005, 0.005))]
    assert call_edge_findings(edge_series(series), baseline=BASE, incident=INCIDENT).findings == []


def _counter(name: str, labels: dict[str, str], rates: list[float]) -> EdgeMetricSeries:
    total, values = 0.0, []
    for r in rates:
        total += r
        values.append(total)
    return EdgeMetricSeries(name, orjson.dumps(labels).decode(), TIMES, tuple(values))


def test_istio_counters_become_an_error_ratio_per_edge() -> None:
    labels = {"source_workload": "frontend", "destination_workload": "cart", "reporter": "source"}
    ok = _counter("istio_requests_total", {**labels, "response_code": "200"}, [100.0] * 30 + [60.0] * 4)
    bad = _counter("istio_requests_total", {**labels, "response_code": "503"}, [0.0] * 30 + [40.0] * 4)
    edges = edge_series([ok, bad])
    ratio = next(e for e in edges if e.kind is MetricKind.ERRORS)
    assert (ratio.caller, ratio.callee, ratio.side) == ("frontend", "cart", Side.CLIENT)
    assert ratio.values[-1] == 0.4 and ratio.values[5] == 0.0
    findings = call_edge_findings(edges, baseline=BASE, incident=INCIDENT).findings
    assert [(f.service, f.fault.value) for f in findings] == [("cart", "code")]


def test_servicegraph_and_linkerd_edges_are_read_from_their_labels() -> None:
    sg = {"client": "frontend", "server": "cart"}
    total = _counter("traces_service_graph_request_total", sg, [50.0] * 34)
    failed = _counter("traces_service_graph_request_failed_total", sg, [0.0] * 30 + [25.0] * 4)
    mean_sum = _counter("traces_service_graph_request_server_seconds_sum", sg, [0.5] * 30 + [5.0] * 4)
    mean_count = _counter("traces_service_graph_request_server_seconds_count", sg, [50.0] * 34)
    web = {"deployment": "web", "dst_deployment": "cart"}
    linkerd = _series("linkerd_client_request_duration_seconds_p95", web, 0.01, (0.01,) * 4)
    edges = edge_series([total, failed, mean_sum, mean_count, linkerd])
    kinds = {(e.caller, e.callee, e.side, e.kind) for e in edges}
    assert ("frontend", "cart", Side.EITHER, MetricKind.ERRORS) in kinds
    assert ("frontend", "cart", Side.SERVER, MetricKind.LATENCY) in kinds
    assert ("web", "cart", Side.CLIENT, MetricKind.LATENCY) in kinds
    latency = next(e for e in edges if e.kind is MetricKind.LATENCY and e.side is Side.SERVER)
    assert latency.values[0] == 0.01 and latency.values[-1] == 0.1
    graph = {(e.caller, e.callee, e.via) for e in call_graph_edges(edges)}
    assert graph == {("frontend", "cart", "metrics"), ("web", "cart", "metrics")}
    # web's edge to cart did not degrade: one of cart's two callers is not every caller
    assert call_edge_findings(edges, baseline=BASE, incident=INCIDENT).findings == []


def test_series_without_both_ends_are_not_edges() -> None:
    lonely = _series("istio_requests_total", {"destination_workload": "cart"}, 1.0, (1.0,) * 4)
    unknown = _series("x_seconds", {"source_workload": "unknown", "destination_workload": "cart"}, 1.0, (1.0,) * 4)
    assert edge_series([lonely, unknown]) == []
