"""Onset detection, window choice and robust metric scoring on small hand-made inputs."""

from __future__ import annotations

from incidentlens.analyze.metrics import MetricKind, metric_findings, metric_kind, robust_z
from incidentlens.analyze.windows import MINUTE_NS, choose_windows, detect_onset
from incidentlens.model import TimeRange
from incidentlens.telemetry.rows import MetricShift

BIN = 30 * 1_000_000_000


def test_onset_is_first_sustained_departure() -> None:
    timeline = [(i * BIN, 1 if i % 3 else 0, 0, 100, 0) for i in range(40)]
    timeline += [(i * BIN, 30, 10, 100, 0) for i in range(40, 50)]
    onset = detect_onset(timeline, search_from_ns=30 * BIN, search_to_ns=50 * BIN)
    assert onset == 40 * BIN


def test_single_spike_is_not_an_onset() -> None:
    timeline = [(i * BIN, 1, 0, 100, 0) for i in range(50)]
    timeline[45] = (45 * BIN, 50, 0, 100, 0)
    assert detect_onset(timeline, search_from_ns=30 * BIN, search_to_ns=50 * BIN) is None


def test_sparse_background_errors_are_not_an_onset() -> None:
    timeline = [(i * BIN, 4 if i % 4 == 0 else 0, 0, 100, 0) for i in range(50)]
    timeline[41] = (41 * BIN, 4, 0, 100, 0)
    assert detect_onset(timeline, search_from_ns=30 * BIN, search_to_ns=50 * BIN) is None


def test_windows_fall_back_to_alert_when_no_departure() -> None:
    w = choose_windows(data_start_ns=0, data_end_ns=40 * MINUTE_NS, alert_ns=30 * MINUTE_NS, onset_ns=None)
    assert w.onset_ns == 28 * MINUTE_NS
    assert w.baseline.end_ns < w.incident.start_ns
    assert "alert" in w.onset_reason


def test_metric_kinds_from_names() -> None:
    assert metric_kind("container_cpu_usage_ratio") is MetricKind.CPU
    assert metric_kind("MemoryUsage(Mi)") is MetricKind.MEMORY
    assert metric_kind("NetworkP90(ms)") is MetricKind.NETWORK
    assert metric_kind("db_client_connections_in_use") is MetricKind.SATURATION
    assert metric_kind("http_server_request_duration_seconds_p95") is MetricKind.LATENCY


def _shift(
    values: tuple[float, ...],
    median: float = 0.2,
    mad: float = 0.01,
    *,
    service: str = "cart",
    name: str = "container_cpu_usage_ratio",
    lo: float = 0.15,
    hi: float = 0.25,
) -> MetricShift:
    ordered = sorted(values)
    extreme = max(values, key=lambda v: abs(v - median))
    return MetricShift(
        service,
        name,
        "{}",
        median,
        mad,
        100,
        ordered[len(ordered) // 2],
        extreme,
        len(values),
        10,
        values,
        lo,
        hi,
    )


def test_robust_z_flags_a_real_shift_only() -> None:
    assert robust_z(_shift((0.95, 0.97, 0.96))) > 20
    assert abs(robust_z(_shift((0.2, 0.21, 0.19)))) < 2


def test_shift_inside_the_normal_range_is_not_anomalous() -> None:
    # a latency symptom whose normal period already reached 1.0 s
    heavy_tailed = _shift((0.9, 0.95, 0.92), name="request_duration_seconds_p99", lo=0.1, hi=1.0)
    assert abs(robust_z(heavy_tailed)) < 1


def test_series_identical_across_services_point_at_none() -> None:
    node_metric = (0.95, 0.97, 0.96)
    shifts = [_shift(node_metric, service="cart"), _shift(node_metric, service="payment")]
    assert metric_findings(shifts, incident=TimeRange(0, 100)).findings == []


def test_metric_findings_are_per_service_and_kind() -> None:
    analysis = metric_findings([_shift((0.95, 0.97, 0.96))], incident=TimeRange(0, 100))
    assert [(f.service, f.analyzer, f.fault.value) for f in analysis.findings] == [("cart", "metric_resource", "cpu")]
    evidence = next(iter(analysis.evidence.values()))
    assert "container_cpu_usage_ratio" in evidence.summary and evidence.id.startswith("ev-metric-anomaly-")


def test_slow_requests_are_an_onset_too() -> None:
    timeline = [(i * BIN, 0, 0, 100, i % 2) for i in range(40)]
    timeline += [(i * BIN, 0, 0, 100, 40) for i in range(40, 50)]
    assert detect_onset(timeline, search_from_ns=30 * BIN, search_to_ns=50 * BIN) == 40 * BIN


def _latency(service: str, name: str, values: tuple[float, ...], median: float) -> MetricShift:
    return _shift(values, median, 0.01 * median, service=service, name=name, lo=0.5 * median, hi=2 * median)


def test_served_latency_without_slower_calls_is_local() -> None:
    shifts = [
        # the leaf: what it serves got 40x slower, its own calls barely moved
        _latency("currency", "server_latency_p90_seconds", (4.0, 4.1, 3.9), 0.1),
        _latency("currency", "client_latency_p90_seconds", (0.011, 0.012, 0.011), 0.01),
        # its caller: slower to serve, but its calls grew as much
        _latency("frontend", "server_latency_p90_seconds", (20.0, 21.0, 19.0), 0.5),
        _latency("frontend", "client_latency_p90_seconds", (4.0, 4.2, 4.1), 0.05),
    ]
    findings = metric_findings(shifts, incident=TimeRange(0, 100)).findings
    local = {f.service for f in findings if f.analyzer == "metric_local_latency"}
    assert local == {"currency"}
    assert {f.service for f in findings if f.analyzer == "metric_symptom"} == {"currency", "frontend"}


def test_small_shifts_are_weak_findings_only() -> None:
    # two points of a 60 s series, a little above the usual level: ranked, but far below a real anomaly
    weak = _shift((0.23, 0.235), 0.2, 0.01)
    findings = metric_findings([weak], incident=TimeRange(0, 100)).findings
    assert [f.analyzer for f in findings] == ["metric_weak"]
    assert 1.5 <= abs(robust_z(weak)) < 3


def test_less_resource_use_is_lost_load_not_a_resource_fault() -> None:
    # CPU fell from 0.2 to 0.02: the work stopped arriving (a caller failed); it points weakly, never as "cpu"
    findings = metric_findings([_shift((0.02, 0.03, 0.02))], incident=TimeRange(0, 100)).findings
    assert [(f.analyzer, f.fault.value) for f in findings] == [("metric_weak", "unknown")]


def test_the_summary_never_contradicts_its_numbers() -> None:
    """'up' quotes the highest incident value, 'down' the lowest; a median that moved the other way says so."""
    import re

    cases = [
        _shift((0.95, 0.97, 0.96)),  # clearly up
        _shift((0.02, 0.03, 0.01), median=0.2),  # clearly down
        _shift((0.19, 0.18, 0.6, 0.55), name="request_duration_seconds_p95"),  # two spikes, median flat
        _shift((0.21, 0.22, 0.05, 0.04), name="requests_per_second"),  # two dips, median up a little
    ]
    for shift in cases:
        for ev in metric_findings([shift], incident=TimeRange(0, 100)).evidence.values():
            m = re.search(
                r" (up|down): (highest|lowest) ([-\d.e+]+) against a normal range of ([-\d.e+]+)\.\.", ev.summary
            )
            assert m, ev.summary
            direction, word, value = m.group(1), m.group(2), float(m.group(3))
            assert (direction, word) in (("up", "highest"), ("down", "lowest")), ev.summary
            assert value == (max(shift.values) if direction == "up" else min(shift.values)), ev.summary
            median_up = shift.incident_median > shift.baseline_median
            if median_up != (direction == "up") and shift.incident_median != shift.baseline_median:
                assert "most points did not follow" in ev.summary, ev.summary


def test_metric_only_onset_is_the_first_sustained_symptom_departure() -> None:
    from incidentlens.analyze.windows import metric_onset
    from incidentlens.telemetry.rows import MetricPoints

    times = tuple(range(0, 40 * 15, 15))
    flat = tuple(0.0 for _ in times)
    errors = tuple(0.0 if t < 450 else 0.2 for t in times)
    blip = tuple(0.5 if t == 300 else 0.0 for t in times)
    success = tuple(1.0 if t < 480 else 0.7 for t in times)
    onset = metric_onset(
        [MetricPoints("a", "http_error_ratio", times, errors), MetricPoints("b", "x_error_ratio", times, flat)],
        reference_end_ns=200,
        search_from_ns=200,
        search_to_ns=600,
    )
    assert onset == 450
    assert (
        metric_onset(
            [MetricPoints("c", "error_ratio", times, blip)], reference_end_ns=200, search_from_ns=200, search_to_ns=600
        )
        is None
    )
    falling = [MetricPoints("d", "PodSuccessRate", times, success)]
    assert metric_onset(falling, reference_end_ns=200, search_from_ns=200, search_to_ns=600) == 480
