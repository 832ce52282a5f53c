"""Per-service metrics: request statistics gathered while traffic streams, turned into Prometheus series.

RED metrics come from the generated server spans (latency via histogram buckets and
histogram_quantile, as Prometheus computes it); resource metrics are modelled from load and the plan.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from pathlib import Path
from typing import Any

import orjson

from incidentlens.simulate.faults import Plan, down_windows, leak_fill
from incidentlens.simulate.fleet import Fleet
from incidentlens.simulate.topology import SERVICES

STEP_S = 15
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
HTTP_SERVICES = [s for s in SERVICES if s != "accounting"]
MB = 1024 * 1024
Point = tuple[int, float]


class Stats:
    """Counts per service and 15 s bucket; bounded memory at any traffic scale."""

    def __init__(self, start_ns: int, end_ns: int) -> None:
        self.start_ns = start_ns
        self.n = math.ceil((end_ns - start_ns) / (STEP_S * 1e9))
        self.count = {s: [0] * self.n for s in SERVICES}
        self.errors = {s: [0] * self.n for s in SERVICES}
        self.hist = {s: [[0] * (len(BOUNDS) + 1) for _ in range(self.n)] for s in SERVICES}
        # What a real exporter also keeps: the failed requests' buckets and the summed durations.
        self.error_hist = {s: [[0] * (len(BOUNDS) + 1) for _ in range(self.n)] for s in SERVICES}
        self.seconds = {s: [0.0] * self.n for s in SERVICES}
        self.produced_n = [0] * self.n
        self.consumed_n = [0] * self.n
        self.hits = [0] * self.n
        self.lookups = [0] * self.n

    def _bucket(self, t_ns: int) -> int:
        return min(self.n - 1, max(0, int((t_ns - self.start_ns) // (STEP_S * 1_000_000_000))))

    def request(self, service: str, t_ns: int, duration_ns: int, error: bool) -> None:
        i = self._bucket(t_ns)
        self.count[service][i] += 1
        self.errors[service][i] += error
        j = bisect_left(BOUNDS, duration_ns / 1e9)
        self.hist[service][i][j] += 1
        self.error_hist[service][i][j] += error
        self.seconds[service][i] += duration_ns / 1e9

    def produced(self, t_ns: int) -> None:
        self.produced_n[self._bucket(t_ns)] += 1

    def consumed(self, t_ns: int) -> None:
        self.consumed_n[self._bucket(t_ns)] += 1

    def cache(self, t_ns: int, *, hit: bool) -> None:
        i = self._bucket(t_ns)
        self.lookups[i] += 1
        self.hits[i] += hit

    def p95(self, service: str, i: int) -> float | None:
        return histogram_quantile(0.95, self.hist[service][i])


def histogram_quantile(q: float, counts: list[int]) -> float | None:
    """Prometheus' histogram_quantile over non-cumulative bucket counts (linear within a bucket)."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for j, c in enumerate(counts):
        if seen + c >= rank and c > 0:
            if j == len(BOUNDS):
                return BOUNDS[-1]
            lower = BOUNDS[j - 1] if j > 0 else 0.0
            return lower + (BOUNDS[j] - lower) * (rank - seen) / c
        seen += c
    return BOUNDS[-1]


SeriesKey = tuple[str, str, str, str]  # (name, service, pod, extra)


def build(points: dict[SeriesKey, list[Point]]) -> dict[str, Any]:
    """The query_range response for every series of the window (`series()`)."""
    result = [
        {"metric": labels(*key), "values": [[round(t / 1e9, 3), _fmt(v)] for t, v in values]}
        for key, values in points.items()
    ]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def series(stats: Stats, plan: Plan, fleet: Fleet, rng: random.Random, end_ns: int) -> dict[SeriesKey, list[Point]]:
    """Every series as (time ns, value) points, one per 15 s bucket, at the bucket's end."""
    out: dict[SeriesKey, list[Point]] = {}
    down = down_windows(plan, end_ns)
    mean_rps = {s: max(1e-9, sum(stats.count[s]) / (stats.n * STEP_S)) for s in SERVICES}
    lag = 0
    cart_extra = 0.0

    def add(name: str, service: str, t: int, value: float, pod: str, extra: str = "") -> None:
        out.setdefault((name, service, pod, extra), []).append((t, value))

    for i in range(stats.n):
        t = stats.start_ns + (i + 1) * STEP_S * 1_000_000_000
        lag = max(0, lag + stats.produced_n[i] - stats.consumed_n[i])
        level = plan.level(t)
        for s, svc in SERVICES.items():
            if s == plan.service and any(a <= t < b for a, b in down):
                continue  # nothing scrapes a stopped container
            pod = fleet.resource(s, t)[2]
            rps = stats.count[s][i] / STEP_S
            if s in HTTP_SERVICES:
                add("http_server_requests_per_second", s, t, rps, pod)
                errs = stats.errors[s][i] / stats.count[s][i] if stats.count[s][i] else 0.0
                add("http_server_error_ratio", s, t, errs, pod)
                p95 = stats.p95(s, i)
                if p95 is not None:
                    add("http_server_request_duration_seconds_p95", s, t, p95, pod)
            load = rps / mean_rps[s] if s in HTTP_SERVICES else 1.0
            cpu = svc.base_cpu * (0.8 + 0.25 * load) + rng.gauss(0, 0.006)
            if plan.cpu and s == plan.service:
                cpu += (0.985 - cpu) * level
            if plan.leak and s == plan.service:
                cpu += 0.25 * leak_fill(plan, t) ** 2
            add("container_cpu_usage_ratio", s, t, min(0.999, max(0.001, cpu)), pod)
            mem = svc.base_memory_mb * (1 + 0.03 * math.sin(i / 7 + len(s))) + rng.gauss(0, 1.5)
            if plan.leak and s == plan.service:
                mem += svc.base_memory_mb * 3.0 * leak_fill(plan, t)
            if plan.cache_down and s == "cart":
                cart_extra += 0.9 * level * (stats.count[s][i] or 1)
                mem += cart_extra
            add("container_memory_working_set_bytes", s, t, max(1.0, mem) * MB, pod)
            restarts = sum(1 for a, _ in down if a <= t) if plan.leak and s == plan.service else 0
            add("kube_pod_container_status_restarts_total", s, t, restarts, pod)
        pc_pod = fleet.resource("productcatalog", t)[2]
        in_use = 1.0 + 2.5 * stats.count["productcatalog"][i] / STEP_S / mean_rps["productcatalog"]
        in_use = max(0.0, in_use + rng.gauss(0, 0.6))
        if plan.pool:
            in_use += (20 - in_use) * min(1.0, level * 1.4)
        add("db_client_connections_in_use", "productcatalog", t, round(min(20.0, in_use)), pc_pod, "catalog")
        add("db_client_connections_max", "productcatalog", t, 20, pc_pod, "catalog")
        add("kafka_consumer_lag", "accounting", t, lag, fleet.resource("accounting", t)[2], "orders")
        ratio = stats.hits[i] / stats.lookups[i] if stats.lookups[i] else 0.93
        add("cache_hit_ratio", "cart", t, ratio, fleet.resource("cart", t)[2], "valkey-cart")
    return out


def labels(name: str, service: str, pod: str, extra: str) -> dict[str, str]:
    """The label set of one series, as the Kubernetes scrape of the demo shop would attach it."""
    metric = {
        "__name__": name,
        "service": service,
        "namespace": "shop",
        "pod": pod,
        "container": service,
        "job": "kubernetes-pods",
    }
    if name.startswith("db_client"):
        metric["pool_name"] = extra
    elif name == "kafka_consumer_lag":
        metric.update({"topic": extra, "consumergroup": "accounting", "partition": "0"})
    elif name == "cache_hit_ratio":
        metric["cache"] = extra
    return metric


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 6))


def write(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(doc))
