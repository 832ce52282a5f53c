"""Metric anomalies: robust (median/MAD) shifts of each series against the normal period, by resource kind."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from enum import StrEnum

import numpy as np

from incidentlens.analyze.evidence_ids import evidence_id, strength
from incidentlens.analyze.findings import Analysis
from incidentlens.analyze.shifts import support_needed
from incidentlens.model import AnalyzerKind, Evidence, EvidenceKind, FaultKind, Finding, TimeRange
from incidentlens.telemetry.rows import MetricShift


class MetricKind(StrEnum):
    CPU = "cpu"
    MEMORY = "memory"
    NETWORK = "network"
    DISK = "disk"
    SATURATION = "saturation"
    LATENCY = "latency"
    ERRORS = "errors"
    TRAFFIC = "traffic"
    OTHER = "other"


# Order matters: the first matching rule names the kind.
_KIND_RULES: tuple[tuple[MetricKind, re.Pattern[str]], ...] = (
    (MetricKind.CPU, re.compile(r"cpu", re.I)),
    (MetricKind.MEMORY, re.compile(r"mem|heap|rss|working_set|\bgc\b|_gc_|oom", re.I)),
    (MetricKind.DISK, re.compile(r"disk|filesystem|\bfs_|_io_|iops", re.I)),
    (MetricKind.NETWORK, re.compile(r"network|\bnet_|_net_|rtt|packet|receive|transmit|tcp", re.I)),
    (MetricKind.SATURATION, re.compile(r"pool|connections|lag|queue|backlog|thread|saturat|pending", re.I)),
    (MetricKind.ERRORS, re.compile(r"error|fail|5xx|success|exception", re.I)),
    (MetricKind.LATENCY, re.compile(r"latency|duration|response_time|p50|p9\d|seconds|_ms\b", re.I)),
    (MetricKind.TRAFFIC, re.compile(r"request|workload|qps|rps|throughput|ops|count|total", re.I)),
)
# Resource kinds are local to the service that reports them; the others are symptoms that propagate.
RESOURCE_KINDS = {MetricKind.CPU, MetricKind.MEMORY, MetricKind.DISK, MetricKind.NETWORK, MetricKind.SATURATION}
FAULT_OF_KIND = {
    MetricKind.CPU: FaultKind.CPU,
    MetricKind.MEMORY: FaultKind.MEMORY,
    MetricKind.DISK: FaultKind.DISK,
    MetricKind.NETWORK: FaultKind.NETWORK,
    MetricKind.SATURATION: FaultKind.SATURATION,
}
_SERVER_SIDE = re.compile(r"server|inbound|destination", re.I)
_CLIENT_SIDE = re.compile(r"client|outbound|source", re.I)
Z_THRESHOLD = 3.0
WEAK_Z = 1.5


def metric_kind(name: str) -> MetricKind:
    for kind, pattern in _KIND_RULES:
        if pattern.search(name):
            return kind
    return MetricKind.OTHER


def robust_z(shift: MetricShift) -> float:
    """Shift of the incident against the baseline in units of its robust spread (MAD), floored for flat series.

    The incident median decides; for symptom series it is weighted by the share of incident points that leave
    the range the normal period itself reached (a heavy-tailed latency series that stays inside its usual
    range is not anomalous, however far its median moved). With only a few points after onset the median
    lags, so the level that a quarter of the incident points (at least two) reach also counts, at a discount: one
    blip never makes a shift (`shifts.support_needed`).
    """
    spread = max(1.4826 * shift.baseline_mad, 0.05 * abs(shift.baseline_median), 1e-9)
    z_median = (shift.incident_median - shift.baseline_median) / spread
    above = [v for v in shift.values if v > shift.baseline_max]
    below = [v for v in shift.values if v < shift.baseline_min]
    outside = above if z_median >= 0 else below
    share = len(outside) / len(shift.values) if shift.values else 0.0
    z_held = _held_level_z(shift, spread)
    # A resource's own level (cpu, memory, pools) counts whole; symptoms that propagate (latency, errors,
    # traffic) are often heavy-tailed and count only as far as they leave their usual range.
    z_main = z_median if metric_kind(shift.name) in RESOURCE_KINDS else z_median * share
    z = z_main if abs(z_main) >= 0.5 * abs(z_held) else 0.5 * z_held
    return float(np.clip(z, -100.0, 100.0))


def _held_level_z(shift: MetricShift, spread: float) -> float:
    """The z of the level that enough incident points reach outside the normal range (0 when none is held)."""
    n = len(shift.values)
    if n < 2:
        return 0.0
    need = support_needed(n)
    high = sorted(shift.values, reverse=True)[need - 1]
    low = sorted(shift.values)[need - 1]
    z_up = (high - shift.baseline_median) / spread if high > shift.baseline_max else 0.0
    z_down = (low - shift.baseline_median) / spread if low < shift.baseline_min else 0.0
    return z_up if abs(z_up) >= abs(z_down) else z_down


# A percentage or ratio this close to its ceiling is near a limit whatever its history.
NEAR_LIMIT_SHARE = 0.8
# Far outside: at least this many times as far above the median as the normal period ever went.
FAR_OUTSIDE = 2.0
_PERCENT = re.compile(r"%|percent|pct", re.I)
_RATIO = re.compile(r"ratio|utili[sz]ation|throttl", re.I)


def saturated(shift: MetricShift) -> bool:
    """A resource "saturation" claim holds: near a limit, or held outside its own normal range.

    Held far outside means at least a quarter of the incident points (two or more) twice as far above the median as
    the highest value the normal period reached; near a limit means a percentage at 80 or more (a ratio at
    0.8). A one-point burst of a starting
    process, or a level its normal period also reached, is a weak finding, never a resource fault.
    """
    need = support_needed(len(shift.values)) if shift.values else 1
    level = sorted(shift.values, reverse=True)[need - 1] if shift.values else shift.incident_median
    ceiling = 100.0 if _PERCENT.search(shift.name) else 1.0 if _RATIO.search(shift.name) else None
    if ceiling is not None and level >= NEAR_LIMIT_SHARE * ceiling:
        return True
    return level - shift.baseline_median > FAR_OUTSIDE * max(shift.baseline_max - shift.baseline_median, 0.0)


def shared_series(shifts: list[MetricShift]) -> set[tuple[str, str]]:
    """(service, metric) pairs whose incident values are identical for two or more services.

    Such a series describes something the services share (the node, the host, a common exporter), not any
    one of them, so it cannot point at a service.
    """
    owners: dict[tuple[str, tuple[float, ...]], set[str]] = defaultdict(set)
    for shift in shifts:
        if len(shift.values) >= 2 and len(set(shift.values)) > 1:
            owners[(shift.name, tuple(round(v, 9) for v in shift.values))].add(shift.service)
    return {(svc, name) for (name, _), services in owners.items() if len(services) >= 2 for svc in services}


def metric_findings(shifts: list[MetricShift], *, incident: TimeRange) -> Analysis:
    """One finding per service and metric kind, from its most shifted series."""
    out = Analysis()
    shared = shared_series(shifts)
    best: dict[tuple[str, MetricKind], list[tuple[float, MetricShift]]] = defaultdict(list)
    for shift in shifts:
        if not shift.service or shift.baseline_points < 2 or shift.incident_points < 1:
            continue
        if (shift.service, shift.name) in shared:
            continue
        z = robust_z(shift)
        if abs(z) < WEAK_Z:
            continue
        best[(shift.service, metric_kind(shift.name))].append((z, shift))
    for (service, kind), scored in sorted(best.items()):
        scored.sort(key=lambda pair: (-abs(pair[0]), pair[1].name))
        z, top = scored[0]
        if kind in RESOURCE_KINDS and z > 0 and not saturated(top):
            # A series of the same resource that is held high (or near its limit) speaks for it instead.
            z, top = next(((zz, s) for zz, s in scored if zz >= Z_THRESHOLD and saturated(s)), (z, top))
        ev = Evidence(
            id=evidence_id(EvidenceKind.METRIC_ANOMALY, service, top.name, top.labels),
            kind=EvidenceKind.METRIC_ANOMALY,
            service=service,
            summary=shift_summary(top, service, z, kind),
            excerpt=f"{top.name}{top.labels if top.labels not in ('', '{}') else ''}: "
            + ", ".join(f"{v:.4g}" for v in top.values[:12]),
            time_range=TimeRange(top.first_ns, incident.end_ns),
            source_ref=f"metric:{top.name}",
            score=round(z, 2),
            attributes={"metric": top.name, "kind": kind.value, "robust_z": round(z, 2), "series": len(scored)},
        )
        # Less CPU, memory or network used is less work arriving: a consequence of a failure elsewhere,
        # so it counts only weakly, for the service that lost its load.
        resource = kind in RESOURCE_KINDS and z > 0 and saturated(top)
        fault = FAULT_OF_KIND.get(kind, FaultKind.UNKNOWN) if resource else FaultKind.UNKNOWN
        dropped_load = kind in RESOURCE_KINDS and (z < 0 or not resource)
        analyzer = (
            AnalyzerKind.METRIC_WEAK
            if abs(z) < Z_THRESHOLD or dropped_load
            else AnalyzerKind.METRIC_RESOURCE
            if resource
            else AnalyzerKind.METRIC_SYMPTOM
        )
        out.add(ev, Finding(analyzer, service, fault, strength(abs(z), 12.0), (ev.id,), top.first_ns, kind.value))
        if kind is MetricKind.LATENCY:
            local = local_latency(scored)
            if local is not None:
                out.add(
                    ev,
                    Finding(
                        AnalyzerKind.METRIC_LOCAL_LATENCY,
                        service,
                        FaultKind.UNKNOWN,
                        strength(local, 12.0),
                        (ev.id,),
                        top.first_ns,
                        "latency of its own",
                    ),
                )
    return out


def shift_summary(shift: MetricShift, service: str, z: float, kind: MetricKind) -> str:
    """The shift in words whose direction always agrees with the numbers quoted: going up, the highest incident
    value; going down, the lowest (a median that moved the other way is named as such)."""
    up = z > 0
    extreme = (
        max(shift.values, default=shift.incident_extreme) if up else min(shift.values, default=shift.incident_extreme)
    )
    median_moved = shift.incident_median - shift.baseline_median
    against = (median_moved < 0) if up else (median_moved > 0)
    median = f"median {shift.baseline_median:.4g} -> {shift.incident_median:.4g}" + (
        " (most points did not follow)" if against else ""
    )
    return (
        f"{shift.name} on {service} {'up' if up else 'down'}: {'highest' if up else 'lowest'} {extreme:.4g} "
        f"against a normal range of {shift.baseline_min:.4g}..{shift.baseline_max:.4g}; {median} "
        f"(robust z {z:+.1f}, {kind.value})"
    )


def latency_side(name: str) -> str:
    """Whether a latency series measures the requests a service serves or the calls it makes."""
    if _SERVER_SIDE.search(name):
        return "server"
    if _CLIENT_SIDE.search(name):
        return "client"
    return ""


def local_latency(scored: list[tuple[float, MetricShift]]) -> float | None:
    """The z of a service's served latency when the latency of its own calls did not rise with it.

    Served latency that its outgoing calls explain propagated from below; served latency without slower
    calls started here (its CPU, its code, its own network). Rises compare as growth factors (log ratio of
    medians), so a service fanning out to many calls is explained by calls that grew as much as it did.
    """
    server = [(z, s) for z, s in scored if latency_side(s.name) == "server" and z >= Z_THRESHOLD]
    if not server:
        return None
    growth_served = max(_log_growth(s) for _, s in server)
    growth_calls = max((_log_growth(s) for _, s in scored if latency_side(s.name) == "client"), default=0.0)
    if growth_served <= 0 or growth_calls >= 0.5 * growth_served:
        return None
    return max(z for z, _ in server)


def _log_growth(shift: MetricShift) -> float:
    if shift.baseline_median <= 0 or shift.incident_median <= 0:
        return 0.0
    return math.log(shift.incident_median / shift.baseline_median)
