"""Rolling updates of the demo shop: which services roll, one pod at a time, and which new version is defective.

Pure planning from a seed: the rollout order, replicas, pod names, step times, the defect and the alert time.
`rollout_metrics.py` turns a plan into per-pod and per-call-edge series; `rollout.py` writes the bundle.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from incidentlens.simulate.topology import ENDPOINTS, Step

_NS = 1_000_000_000
MINUTE_NS = 60 * _NS


@dataclass(frozen=True, slots=True)
class RolloutFault:
    name: str
    description: str
    signal: str  # what the alert watches on the entry service: "errors" or "latency"


# The defect of the one bad version. `edge_*` kinds never show in the defective pods' own metrics: their
# proxies fail or delay the calls before the application sees them, so only callers' edges show them.
ROLLOUT_FAULTS: dict[str, RolloutFault] = {
    f.name: f
    for f in (
        RolloutFault("rollout_errors", "The new version fails 10-33 % of the requests it serves.", "errors"),
        RolloutFault("rollout_latency", "The new version serves 2.5-6 times slower.", "latency"),
        RolloutFault("rollout_cpu", "The new version burns CPU near its limit and slows down.", "latency"),
        RolloutFault("rollout_memory", "The new version leaks memory; garbage collection slows it.", "latency"),
        RolloutFault(
            "rollout_edge_errors",
            "Calls into the new version fail at its proxy (a wrong port); only callers' edges see it.",
            "errors",
        ),
        RolloutFault(
            "rollout_edge_latency",
            "Calls into the new version are delayed on the network path; only callers' edges see it.",
            "latency",
        ),
        RolloutFault(
            "rollout_none", "A healthy rolling update with a noisy alert: no version is defective.", "latency"
        ),
    )
}
# Services that serve calls (the entry service, frontend, is rolled too).
ROLLABLE = (
    "frontend",
    "checkout",
    "cart",
    "payment",
    "productcatalog",
    "currency",
    "shipping",
    "email",
    "ad",
    "recommendation",
)
ENTRY = "frontend"


@dataclass(frozen=True, slots=True)
class PodLife:
    """One pod: its service, version, name and when it served (`end_ns` 0: still serving at the window end)."""

    service: str
    version: str
    name: str
    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True)
class RolloutStep:
    """One step of a rolling update: `new_pod` replaces `old_pod` at `ts_ns`."""

    service: str
    ts_ns: int
    previous: str
    version: str
    new_pod: str
    old_pod: str
    index: int  # 1-based step within the service's rollout
    replicas: int


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    fault: str
    seed: int
    start_ns: int
    end_ns: int
    rolled: tuple[str, ...]  # in rollout order
    defective: str  # "" for rollout_none
    steps: tuple[RolloutStep, ...]
    pods: tuple[PodLife, ...]
    magnitude: float  # error share, latency factor, ... of the defect
    alert_ns: int
    edges: tuple[tuple[str, str], ...]  # (caller, callee) of every call
    share: dict[tuple[str, str], float]  # share of a caller's requests that depend on one callee

    @property
    def bad_version(self) -> str:
        return next((s.version for s in self.steps if s.service == self.defective), "")

    @property
    def bad_pods(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.pods if p.service == self.defective and p.version == self.bad_version)

    @property
    def onset_ns(self) -> int:
        return next((s.ts_ns for s in self.steps if s.service == self.defective), 0)


def call_edges() -> tuple[tuple[str, str], ...]:
    """(caller, callee) pairs among services, from the shop's endpoint call trees."""
    found: dict[tuple[str, str], None] = {}

    def walk(step: Step) -> None:
        for call in step.calls:
            if call.target is not None:
                found[(step.service, call.target.service)] = None
                walk(call.target)

    for endpoint in ENDPOINTS:
        walk(endpoint.root)
    return tuple(e for e in found if e[0] in ROLLABLE and e[1] in ROLLABLE)


def pod_name(service: str, version: str, replica: int, seed: int) -> str:
    """A Deployment pod name: the ReplicaSet hash follows the version, the suffix the replica."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    rs = hashlib.sha256(f"{seed}:{service}:{version}".encode()).hexdigest()
    tail = hashlib.sha256(f"{seed}:{service}:{version}:{replica}".encode()).hexdigest()

    def pick(digest: str, n: int) -> str:
        return "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 2 * n, 2))

    return f"{service}-{pick(rs, 10)}-{pick(tail, 5)}"


def plan_rollout(
    fault: str, *, seed: int, start_ns: int, normal_minutes: int = 20, services: int | None = None
) -> RolloutPlan:
    """The rollout for `fault` and `seed`; `services` (1-6) rolled, else chosen by the seed."""
    rng = random.Random(f"incidentlens-rollout:{seed}:{fault}")
    count = services if services is not None else rng.randint(1, 6)
    rolled = tuple(rng.sample(ROLLABLE, count))
    defective = "" if fault == "rollout_none" else rolled[rng.randrange(count)]
    t = start_ns + normal_minutes * MINUTE_NS + rng.randrange(0, 60) * _NS
    steps: list[RolloutStep] = []
    defect_done = 0
    pods: list[PodLife] = []
    for service in ROLLABLE:
        if service not in rolled:
            old = _version(seed, service)
            pods.extend(
                PodLife(service, old, pod_name(service, old, r, seed), start_ns - 3600 * _NS, 0)
                for r in range(_replicas(seed, service))
            )
    for service in rolled:
        replicas = _replicas(seed, service)
        old = _version(seed, service)
        new = old.removesuffix(".0") + ".1"
        interval = rng.uniform(45.0, 90.0)
        for r in range(replicas):
            t += int((interval + rng.uniform(-5.0, 5.0)) * _NS) if r else 0
            old_pod, new_pod = pod_name(service, old, r, seed), pod_name(service, new, r, seed)
            steps.append(RolloutStep(service, t, old, new, new_pod, old_pod, r + 1, replicas))
            pods.append(PodLife(service, old, old_pod, start_ns - 3600 * _NS, t))
            pods.append(PodLife(service, new, new_pod, t, 0))
        if service == defective:
            defect_done = t
        t += int(rng.uniform(20.0, 120.0) * _NS)
    last_step = steps[-1].ts_ns
    if defective:
        alert = defect_done + int(rng.uniform(45.0, 180.0) * _NS)
    else:
        alert = steps[0].ts_ns + int((last_step - steps[0].ts_ns) * rng.uniform(0.3, 1.0)) + 60 * _NS
    step_ns = 15 * _NS
    alert = alert - (alert - start_ns) % step_ns + step_ns
    end_ns = max(last_step, alert) + 4 * MINUTE_NS
    edges = call_edges()
    share = {e: round(rng.uniform(0.2, 0.6), 3) for e in edges}
    magnitude = {
        "rollout_errors": rng.uniform(0.10, 0.33),
        "rollout_latency": rng.uniform(2.5, 6.0),
        "rollout_cpu": rng.uniform(0.82, 0.95),
        "rollout_memory": rng.uniform(2.0, 3.5),
        "rollout_edge_errors": rng.uniform(0.10, 0.33),
        "rollout_edge_latency": rng.uniform(60.0, 200.0),
        "rollout_none": 0.0,
    }[fault]
    return RolloutPlan(
        fault=fault,
        seed=seed,
        start_ns=start_ns,
        end_ns=end_ns,
        rolled=rolled,
        defective=defective,
        steps=tuple(steps),
        pods=tuple(pods),
        magnitude=magnitude,
        alert_ns=alert,
        edges=edges,
        share=share,
    )


def services_in_order() -> list[str]:
    """Callees before callers, so effects propagate up the call graph in one pass."""
    edges = call_edges()
    order: list[str] = []
    remaining = list(ROLLABLE)
    while remaining:
        for s in remaining:
            if all(callee in order for caller, callee in edges if caller == s):
                order.append(s)
                remaining.remove(s)
                break
        else:  # a cycle would be a modelling error in the topology
            raise ValueError(f"call cycle among {remaining}")
    return order


def _replicas(seed: int, service: str) -> int:
    return 2 + int(hashlib.sha256(f"{seed}:{service}".encode()).hexdigest(), 16) % 3


def _version(seed: int, service: str) -> str:
    return f"v1.{1 + int(hashlib.sha256(f'{seed}:{service}:v'.encode()).hexdigest(), 16) % 9}.0"
