"""The demo's metrics as a real exporter exposes them: OpenMetrics text with timestamps, for backfilling.

`metrics.prom.json` holds what a PromQL user would query (request rates, error ratios, p95, CPU ratio);
this file holds the raw series behind them, so Prometheus or VictoriaMetrics compute those with `rate()` and
`histogram_quantile()` themselves (`promtool tsdb create-blocks-from openmetrics FILE DIR`):

- HTTP services: `http_server_request_duration_seconds` histograms (OpenTelemetry semantic conventions) per
  pod and `http_response_status_code` (200 and, from its first failure on, 500);
- cAdvisor `container_cpu_usage_seconds_total` (a 1-core limit, so its rate is the CPU ratio) and
  `container_memory_working_set_bytes`; kube-state-metrics `kube_pod_container_status_restarts_total`;
- the demo's own gauges (database pool, consumer lag, cache hit ratio) unchanged.

A gap in a pod's series (an OOM kill) restarts its process: its counters start again from zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from incidentlens.simulate.metrics import BOUNDS, STEP_S, Point, SeriesKey, Stats, labels

_STEP_NS = STEP_S * 1_000_000_000
_HISTOGRAM = "http_server_request_duration_seconds"
_AS_IS = {
    "container_memory_working_set_bytes": "gauge",
    "kube_pod_container_status_restarts_total": "counter",
    "db_client_connections_in_use": "gauge",
    "db_client_connections_max": "gauge",
    "kafka_consumer_lag": "gauge",
    "cache_hit_ratio": "gauge",
}


def exposition(stats: Stats, points: dict[SeriesKey, list[Point]]) -> str:
    """OpenMetrics text (ending in `# EOF`) for the series `metrics.series` built from the same `stats`."""
    return "".join((*_histograms(stats, points), *_cpu(points), *_as_is(points), "# EOF\n"))


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _runs(series: list[Point]) -> Iterator[list[int]]:
    """The sample times of one series, split where samples are missing (the process was restarted)."""
    run: list[int] = []
    for t, _ in series:
        if run and t - run[-1] != _STEP_NS:
            yield run
            run = []
        run.append(t)
    if run:
        yield run


def _histograms(stats: Stats, points: dict[SeriesKey, list[Point]]) -> Iterator[str]:
    yield f"# TYPE {_HISTOGRAM} histogram\n# UNIT {_HISTOGRAM} seconds\n"
    for (name, service, pod, extra), series in points.items():
        if name != "http_server_requests_per_second":
            continue
        base = _exporter_labels(_HISTOGRAM, service, pod, extra)
        for run in _runs(series):
            for code, failed in (("200", False), ("500", True)):
                yield from _histogram_run(stats, service, run, {**base, "http_response_status_code": code}, failed)


def _histogram_run(
    stats: Stats, service: str, run: list[int], label_set: dict[str, str], failed: bool
) -> Iterator[str]:
    cumulative = [0] * (len(BOUNDS) + 1)
    seconds = 0.0
    started = not failed  # a status code's series exists from its first request on, as exporters create them
    for t in run:
        i = (t - stats.start_ns) // _STEP_NS - 1
        errors = stats.error_hist[service][i]
        counts = errors if failed else [a - b for a, b in zip(stats.hist[service][i], errors, strict=True)]
        cumulative = [a + b for a, b in zip(cumulative, counts, strict=True)]
        total = stats.count[service][i]
        seconds += stats.seconds[service][i] * (sum(counts) / total if total else 0.0)  # their share of the time
        started = started or sum(counts) > 0
        if not started:
            continue
        stamp = _stamp(t)
        below = 0
        for bound, n in zip((*BOUNDS, "+Inf"), cumulative, strict=True):
            below += n
            yield f"{_HISTOGRAM}_bucket{_labels({**label_set, 'le': str(bound)})} {below} {stamp}\n"
        yield f"{_HISTOGRAM}_count{_labels(label_set)} {below} {stamp}\n"
        yield f"{_HISTOGRAM}_sum{_labels(label_set)} {round(seconds, 6)!r} {stamp}\n"


def _cpu(points: dict[SeriesKey, list[Point]]) -> Iterator[str]:
    """CPU seconds used, accumulated from the CPU ratio of each 15 s bucket (a 1-core limit)."""
    name = "container_cpu_usage_seconds_total"
    yield "# TYPE container_cpu_usage_seconds counter\n"
    for (metric, service, pod, extra), series in points.items():
        if metric != "container_cpu_usage_ratio":
            continue
        text = _labels(_exporter_labels(name, service, pod, extra))
        ratio = dict(series)
        for run in _runs(series):
            used = 0.0
            for t in run:
                used += ratio[t] * STEP_S
                yield f"{name}{text} {round(used, 6)!r} {_stamp(t)}\n"


def _as_is(points: dict[SeriesKey, list[Point]]) -> Iterator[str]:
    for name, kind in _AS_IS.items():
        yield f"# TYPE {name.removesuffix('_total') if kind == 'counter' else name} {kind}\n"
        for (metric, service, pod, extra), series in points.items():
            if metric == name:
                text = _labels(_exporter_labels(name, service, pod, extra))
                yield from (f"{name}{text} {_number(value)} {_stamp(t)}\n" for t, value in series)


def _exporter_labels(name: str, service: str, pod: str, extra: str) -> dict[str, str]:
    """The labels the exporter of `name` attaches: cAdvisor and kube-state-metrics know containers, not services."""
    if name.startswith("container_"):
        return {"namespace": "shop", "pod": pod, "container": service, "job": "kubelet"}
    if name.startswith("kube_"):
        return {"namespace": "shop", "pod": pod, "container": service, "job": "kube-state-metrics"}
    label_set = labels(name, service, pod, extra)
    del label_set["__name__"]
    return label_set


def _labels(label_set: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in label_set.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _stamp(t_ns: int) -> str:
    seconds, frac = divmod(t_ns, 1_000_000_000)
    return f"{seconds}.{frac // 1_000_000:03d}" if frac else str(seconds)
