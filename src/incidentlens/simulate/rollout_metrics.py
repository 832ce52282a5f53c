"""Per-pod and per-call-edge series of a rolling update, as Prometheus `query_range` series.

Every pod reports its own request rate, error ratio, p95 latency, CPU and memory, labelled with `pod` and
`version`; every call edge reports Istio-style series (`source_workload`, `destination_workload`,
`destination_version`) as the caller's proxy sees them. Effects propagate from callees to callers by each
edge's share of the caller's requests. New pods of every service start with a short CPU burst and a cold
cache, and healthy series carry single-point blips, as real ones do.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from incidentlens.simulate.rollout_plan import ENTRY, ROLLABLE, PodLife, RolloutPlan, services_in_order
from incidentlens.simulate.topology import SERVICES

STEP_S = 15
_NS = 1_000_000_000
MB = 1024 * 1024
STARTUP_S = 60.0  # a starting pod's CPU burst
WARMUP_S = 180.0  # its cache and heap warming up
LEAK_FULL_S = 600.0
BLIP_P = 0.01
INGRESS = "istio-ingressgateway"

LabelSet = tuple[tuple[str, str], ...]
Series = dict[LabelSet, list[tuple[int, float]]]
_Add = Callable[[dict[str, str], int, float], None]


@dataclass(frozen=True, slots=True)
class _Base:
    rps: float
    error: float
    p95_s: float


@dataclass(slots=True)
class _PodState:
    error: float  # application errors: share of served requests
    p95_s: float
    edge_error: float  # failed by the proxy before the application saw them
    edge_delay_s: float
    cpu: float
    memory_mb: float


def _bases(rng: random.Random) -> dict[str, _Base]:
    return {s: _Base(rng.uniform(3.0, 25.0), rng.uniform(0.001, 0.004), rng.uniform(0.015, 0.12)) for s in ROLLABLE}


def _active(pods: tuple[PodLife, ...], service: str, t: int) -> list[PodLife]:
    return [p for p in pods if p.service == service and p.start_ns <= t and (p.end_ns == 0 or t < p.end_ns)]


def _defect(plan: RolloutPlan, age_s: float, state: _PodState) -> None:
    """Switch on the defect of the bad version in one of its pods."""
    m = plan.magnitude
    if plan.fault == "rollout_errors":
        state.error += m
    elif plan.fault == "rollout_latency":
        state.p95_s *= m
    elif plan.fault == "rollout_cpu":
        state.cpu = max(state.cpu, m)
        state.p95_s *= 1.8
    elif plan.fault == "rollout_memory":
        fill = min(1.0, age_s / LEAK_FULL_S)
        state.memory_mb *= 1.0 + (m - 1.0) * fill
        state.p95_s *= 1.0 + 2.0 * fill
    elif plan.fault == "rollout_edge_errors":
        state.edge_error = m
    elif plan.fault == "rollout_edge_latency":
        state.edge_delay_s = m / 1000.0


def series(plan: RolloutPlan) -> Series:
    """Every series of the window, one point per 15 s at the end of its bucket."""
    rng = random.Random(f"incidentlens-rollout-metrics:{plan.seed}:{plan.fault}")
    bases = _bases(rng)
    order = services_in_order()
    callees = {s: [(k, plan.share[(c, k)]) for c, k in plan.edges if c == s] for s in ROLLABLE}
    out: Series = {}

    def add(labels: dict[str, str], t: int, value: float) -> None:
        out.setdefault(tuple(sorted(labels.items())), []).append((t, value))

    t = plan.start_ns + STEP_S * _NS
    while t <= plan.end_ns:
        extra_error: dict[str, float] = {}  # what callers see of each service beyond its normal level
        extra_delay: dict[str, float] = {}
        states: dict[str, list[tuple[PodLife, _PodState]]] = {}
        for service in order:
            base = bases[service]
            below_error = 1.0 - math.prod(1.0 - share * extra_error[k] for k, share in callees[service])
            below_delay = sum(share * extra_delay[k] for k, share in callees[service])
            mine: list[tuple[PodLife, _PodState]] = []
            for pod in _active(plan.pods, service, t):
                age = (t - pod.start_ns) / _NS
                cpu = SERVICES[service].base_cpu * (0.9 + 0.2 * rng.random())
                if age < STARTUP_S:
                    cpu = min(0.99, cpu * rng.uniform(4.0, 10.0))
                warm = min(1.0, 0.6 + 0.4 * age / WARMUP_S)
                state = _PodState(
                    error=base.error + below_error,
                    p95_s=base.p95_s * (1.4 if age < STEP_S * 2 else 1.0) + below_delay,
                    edge_error=0.0,
                    edge_delay_s=0.0,
                    cpu=cpu,
                    memory_mb=SERVICES[service].base_memory_mb * warm,
                )
                if service == plan.defective and pod.version == plan.bad_version:
                    _defect(plan, age, state)
                state.error = min(1.0, state.error)
                mine.append((pod, state))
            states[service] = mine
            n = max(1, len(mine))
            extra_error[service] = sum(s.error - base.error + s.edge_error for _, s in mine) / n
            extra_delay[service] = sum(s.p95_s - base.p95_s + s.edge_delay_s for _, s in mine) / n
        for service, mine in states.items():
            _pod_points(service, mine, bases[service], rng, t, add)
            for caller, callee in plan.edges:
                if callee == service:
                    _edge_points(caller, service, mine, bases, plan.share[(caller, callee)], rng, t, add)
            if service == ENTRY:  # users' requests arrive through the mesh's ingress gateway
                _edge_points(INGRESS, service, mine, {INGRESS: bases[service]}, 1.0, rng, t, add)
        t += STEP_S * _NS
    return out


def _noisy_ratio(p: float, requests: float, rng: random.Random) -> float:
    """An observed failure share over `requests` calls (normal approximation of the binomial)."""
    spread = math.sqrt(max(p * (1.0 - p), 1e-6) / max(requests, 1.0))
    return min(1.0, max(0.0, p + rng.gauss(0.0, spread)))


def _latency(p95_s: float, rng: random.Random) -> float:
    value = p95_s * math.exp(rng.gauss(0.0, 0.06))
    return value * rng.uniform(2.0, 4.0) if rng.random() < BLIP_P else value


def _pod_points(
    service: str, mine: list[tuple[PodLife, _PodState]], base: _Base, rng: random.Random, t: int, add: _Add
) -> None:
    for pod, state in mine:
        labels = {
            "__name__": "",
            "service": service,
            "pod": pod.name,
            "version": pod.version,
            "namespace": "shop",
            "container": service,
            "job": "kubernetes-pods",
        }
        served = base.rps / len(mine) * (1.0 - state.edge_error) * math.exp(rng.gauss(0.0, 0.05))
        for name, value in (
            ("http_server_requests_per_second", served),
            ("http_server_error_ratio", _noisy_ratio(state.error, served * STEP_S, rng)),
            ("http_server_request_duration_seconds_p95", _latency(state.p95_s, rng)),
            ("container_cpu_usage_ratio", min(0.999, max(0.001, state.cpu + rng.gauss(0.0, 0.004)))),
            ("container_memory_working_set_bytes", max(1.0, state.memory_mb + rng.gauss(0.0, 1.5)) * MB),
        ):
            add({**labels, "__name__": name}, t, round(value, 6))


def _edge_points(
    caller: str,
    callee: str,
    mine: list[tuple[PodLife, _PodState]],
    bases: dict[str, _Base],
    share: float,
    rng: random.Random,
    t: int,
    add: _Add,
) -> None:
    """The caller's proxy's view of its calls into each version of the callee."""
    versions = sorted({pod.version for pod, _ in mine})
    for version in versions:
        pods = [s for p, s in mine if p.version == version]
        calls = bases[caller].rps * share * len(pods) / len(mine) * math.exp(rng.gauss(0.0, 0.05))
        failed = sum(s.error + s.edge_error * (1.0 - s.error) for s in pods) / len(pods)
        p95 = sum(s.p95_s + s.edge_delay_s for s in pods) / len(pods) + 0.002
        labels = {
            "__name__": "",
            "source_workload": caller,
            "destination_workload": callee,
            "destination_version": version,
            "reporter": "source",
            "namespace": "shop",
        }
        for name, value in (
            ("istio_requests_per_second", calls),
            ("istio_request_error_ratio", _noisy_ratio(failed, calls * STEP_S, rng)),
            ("istio_request_duration_milliseconds_p95", 1000.0 * _latency(p95, rng)),
        ):
            add({**labels, "__name__": name}, t, round(value, 6))


def query_range(points: Series) -> dict[str, object]:
    """A Prometheus `query_range` matrix response holding every series."""
    result = [
        {"metric": dict(labels), "values": [[round(t / _NS, 3), _fmt(v)] for t, v in values]}
        for labels, values in points.items()
    ]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
