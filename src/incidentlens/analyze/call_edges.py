"""Call edges from service-mesh and servicegraph metrics: the callee whose every caller's edge degrades.

Istio (`source_workload` -> `destination_workload`, `reporter`), Linkerd (`deployment` -> `dst_deployment`)
and the OpenTelemetry servicegraph connector (`client` -> `server`) measure each call between two services,
often from both ends. Without traces they still say who calls whom and how each call went:
- when every caller of a service sees its calls to it get slower or fail, and the service's own calls do not
  explain it, the trouble starts in that service;
- when the callers see it but the service's own end (its proxy, its server span) does not, the time is lost
  between them: its network.
A series is read as an edge from its labels alone; its name says latency, errors or traffic. Counters
(`*_total`, histogram `_sum`/`_count`) become per-step rates, failure counters an error ratio.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import orjson

from incidentlens.analyze.evidence_ids import evidence_id, strength
from incidentlens.analyze.findings import Analysis
from incidentlens.analyze.metrics import MetricKind, metric_kind
from incidentlens.analyze.shifts import SustainedShift, sustained_shift
from incidentlens.model import AnalyzerKind, Evidence, EvidenceKind, FaultKind, Finding, TimeRange
from incidentlens.telemetry.rows import Edge, EdgeMetricSeries

# (caller label, callee label): Istio workloads, canonical services and apps; Linkerd; servicegraph.
EDGE_LABEL_PAIRS = (
    ("source_workload", "destination_workload"),
    ("source_canonical_service", "destination_canonical_service"),
    ("source_app", "destination_app"),
    ("deployment", "dst_deployment"),
    ("client", "server"),
)
_FAILED_CODES = {"response_code": "5", "http_status_code": "5", "code": "5"}
_FAILED_VALUES = {"classification": "failure", "grpc_response_status": "", "status_code": "STATUS_CODE_ERROR"}
# An edge degraded when its sustained level left the normal spread this far (see `shifts.sustained_shift`).
Z_DEGRADED = 5.0
# Error ratios are near zero when healthy: their spread is at least this (a rise of 5 points is z 5).
ERROR_SPREAD_FLOOR = 0.01
# The callee's calls explain its callers' experience when they grew at least this share as much (log growth).
EXPLAINED_SHARE = 0.5
EXPLAINED_DISCOUNT = 0.7
MIN_CALLER_SHARE = 1.0


class Side(StrEnum):
    CLIENT = "client"  # measured by the caller (its proxy or client span): includes the network between them
    SERVER = "server"  # measured by the callee's own end
    EITHER = ""


@dataclass(frozen=True, slots=True)
class EdgeSeries:
    caller: str
    callee: str
    side: Side
    kind: MetricKind  # LATENCY, ERRORS or TRAFFIC
    name: str
    times: tuple[int, ...]
    values: tuple[float, ...]


def edge_endpoints(labels: dict[str, str]) -> tuple[str, str] | None:
    for caller_label, callee_label in EDGE_LABEL_PAIRS:
        caller, callee = labels.get(caller_label, ""), labels.get(callee_label, "")
        if caller and callee and caller != callee and caller != "unknown" and callee != "unknown":
            return caller, callee
    return None


def edge_side(name: str, labels: dict[str, str]) -> Side:
    reporter = labels.get("reporter", "")
    if reporter in ("source", "client"):
        return Side.CLIENT
    if reporter in ("destination", "server", "waypoint"):
        return Side.SERVER
    direction = labels.get("direction", "")
    if direction in ("outbound", "inbound"):
        return Side.CLIENT if direction == "outbound" else Side.SERVER
    lowered = name.lower()
    if "client" in lowered or "source" in lowered or "outbound" in lowered:
        return Side.CLIENT
    if "server" in lowered or "destination" in lowered or "inbound" in lowered:
        return Side.SERVER
    return Side.EITHER


def _failed(name: str, labels: dict[str, str]) -> bool | None:
    """Whether a counter series counts failed calls; None when it carries no outcome at all."""
    if "failed" in name or "error" in name:
        return True
    for label, prefix in _FAILED_CODES.items():
        if label in labels:
            return labels[label].startswith(prefix)
    for label, value in _FAILED_VALUES.items():
        if label in labels:
            return labels[label] == value if value else labels[label] not in ("0", "OK")
    return None


def _increments(times: tuple[int, ...], values: tuple[float, ...]) -> dict[int, float]:
    """Per-step increase of a cumulative counter; a reset (a restart) starts again from its new value."""
    out: dict[int, float] = {}
    for i in range(1, len(values)):
        step = values[i] - values[i - 1]
        out[times[i]] = step if step >= 0 else values[i]
    return out


def edge_series(series: Iterable[EdgeMetricSeries]) -> list[EdgeSeries]:
    """Every call-edge series as latency, error-ratio or traffic points; cumulative counters become rates."""
    out: list[EdgeSeries] = []
    totals: dict[tuple[str, str, Side, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    failed: dict[tuple[str, str, Side, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    sums: dict[tuple[str, str, Side, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[tuple[str, str, Side, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for s in series:
        try:
            raw = orjson.loads(s.labels)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(raw, dict):
            continue
        labels = {str(k): str(v) for k, v in raw.items() if v is not None}
        ends = edge_endpoints(labels)
        if ends is None or s.name.endswith("_bucket"):
            continue
        side = edge_side(s.name, labels)
        if s.name.endswith(("_sum", "_count")):
            base = s.name.rsplit("_", 1)[0]
            target = sums if s.name.endswith("_sum") else counts
            for t, v in _increments(s.times, s.values).items():
                target[(*ends, side, base)][t] += v
            continue
        if s.name.endswith("_total"):
            key = (*ends, side, s.name.removesuffix("_total").removesuffix("_failed").removesuffix("_request"))
            is_failed = _failed(s.name, labels)
            steps = _increments(s.times, s.values)
            if not (is_failed and "failed" in s.name):  # a failed-only counter is not part of the total
                for t, v in steps.items():
                    totals[key][t] += v
            if is_failed is not None:
                bucket = failed[key]
                for t, v in steps.items():
                    bucket[t] += v if is_failed else 0.0
            continue
        kind = metric_kind(s.name)
        if kind in (MetricKind.LATENCY, MetricKind.ERRORS, MetricKind.TRAFFIC):
            out.append(EdgeSeries(*ends, side, kind, s.name, s.times, s.values))
    for key, total in totals.items():
        times = tuple(sorted(total))
        out.append(EdgeSeries(*key[:3], MetricKind.TRAFFIC, f"{key[3]} calls per step", times,
                              tuple(total[t] for t in times)))  # fmt: skip
        if key in failed:
            ratio = [(t, failed[key].get(t, 0.0) / total[t]) for t in times if total[t] > 0]
            out.append(EdgeSeries(*key[:3], MetricKind.ERRORS, f"{key[3]} failed share", tuple(t for t, _ in ratio),
                                  tuple(r for _, r in ratio)))  # fmt: skip
    for key, total in counts.items():
        mean = [(t, sums[key][t] / n) for t, n in sorted(total.items()) if n > 0 and t in sums.get(key, {})]
        if mean:
            out.append(EdgeSeries(*key[:3], MetricKind.LATENCY, f"{key[3]} mean", tuple(t for t, _ in mean),
                                  tuple(v for _, v in mean)))  # fmt: skip
    return out


def call_graph_edges(series: Iterable[EdgeSeries]) -> list[Edge]:
    """Who calls whom, as the dependency graph's edges (`via="metrics"`)."""
    pairs = sorted({(s.caller, s.callee) for s in series})
    return [Edge(caller, callee, 1, 0, "metrics") for caller, callee in pairs]


@dataclass(frozen=True, slots=True)
class EdgeShift:
    series: EdgeSeries
    shift: SustainedShift

    @property
    def degraded(self) -> bool:
        return self.shift.z >= Z_DEGRADED


def _shift(s: EdgeSeries, baseline: TimeRange, incident: TimeRange) -> EdgeShift | None:
    before = [v for t, v in zip(s.times, s.values, strict=True) if baseline.start_ns <= t < baseline.end_ns]
    during = [(t, v) for t, v in zip(s.times, s.values, strict=True) if incident.start_ns <= t <= incident.end_ns]
    floor = ERROR_SPREAD_FLOOR if s.kind is MetricKind.ERRORS else 0.0
    shift = sustained_shift(before, during, spread_floor=floor)
    if shift is None:
        return None
    # Fewer calls is what a caller sees of a failure, not a degradation of the edge itself.
    if s.kind is MetricKind.TRAFFIC:
        return None
    return EdgeShift(s, shift)


def _growth(shift: SustainedShift) -> float:
    if shift.baseline_median <= 0 or shift.level <= 0:
        return shift.z / Z_DEGRADED
    return max(0.0, math.log(shift.level / shift.baseline_median))


def call_edge_findings(series: list[EdgeSeries], *, baseline: TimeRange, incident: TimeRange) -> Analysis:
    """One finding per callee most of whose callers' edges degraded (see the module docstring)."""
    out = Analysis()
    shifts = [sh for s in series if (sh := _shift(s, baseline, incident)) is not None]
    by_edge: dict[tuple[str, str], list[EdgeShift]] = defaultdict(list)
    for sh in shifts:
        by_edge[(sh.series.caller, sh.series.callee)].append(sh)
    callers: dict[str, set[str]] = defaultdict(set)
    for caller, callee in by_edge:
        callers[callee].add(caller)
    for callee in sorted(callers):
        degraded = {c: [sh for sh in by_edge[(c, callee)] if sh.degraded] for c in sorted(callers[callee])}
        hit = {c: shs for c, shs in degraded.items() if shs}
        share = len(hit) / len(callers[callee])
        if not hit or share < MIN_CALLER_SHARE:
            continue
        worst = [max(shs, key=lambda sh: sh.shift.z) for shs in hit.values()]
        top = max(worst, key=lambda sh: sh.shift.z)
        network = [c for c in hit if _gap_only(by_edge[(c, callee)])]
        grew = max(_growth(sh.shift) for sh in worst)
        calls_out = [
            sh
            for (caller, _), shs in by_edge.items()
            if caller == callee
            for sh in shs
            if sh.degraded and sh.series.side is not Side.SERVER
        ]
        explained = bool(calls_out) and max(_growth(sh.shift) for sh in calls_out) >= EXPLAINED_SHARE * grew
        explained = explained and len(network) < len(hit)
        fault = (
            FaultKind.NETWORK
            if len(network) * 2 > len(hit)
            else FaultKind.CODE
            if any(sh.series.kind is MetricKind.ERRORS for sh in worst)
            else FaultKind.UNKNOWN
        )
        ev = _evidence(callee, hit, len(callers[callee]), top, network, explained, incident)
        score = strength(top.shift.z, 20.0) * share * ((1.0 - EXPLAINED_DISCOUNT) if explained else 1.0)
        out.add(ev, Finding(AnalyzerKind.CALL_EDGES, callee, fault, score, (ev.id,), top.shift.first_ns, ev.summary))
    return out


def _gap_only(shifts: list[EdgeShift]) -> bool:
    """The caller's end of the edge degraded while the callee's own end of it did not: lost in between."""
    client = [sh for sh in shifts if sh.series.side is Side.CLIENT and sh.series.kind is MetricKind.LATENCY]
    server = [sh for sh in shifts if sh.series.side is Side.SERVER and sh.series.kind is MetricKind.LATENCY]
    if not client or not server or not any(sh.degraded for sh in client):
        return False
    rise_client = max(_growth(sh.shift) for sh in client)
    rise_server = max(_growth(sh.shift) for sh in server)
    return rise_server < EXPLAINED_SHARE * rise_client


def _evidence(
    callee: str,
    hit: dict[str, list[EdgeShift]],
    callers: int,
    top: EdgeShift,
    network: list[str],
    explained: bool,
    incident: TimeRange,
) -> Evidence:
    s, sh = top.series, top.shift
    side = {Side.CLIENT: "as the caller measures it", Side.SERVER: "as the callee measures it"}.get(s.side, "")
    where = (
        "; the callee's own end did not slow: time lost between them (network)"
        if network and len(network) * 2 > len(hit)
        else "; its own calls degraded as much (propagated from below)"
        if explained
        else ""
    )
    summary = (
        f"{len(hit)} of the {callers} callers of {callee} saw their calls to it degrade: {s.caller} -> {s.callee} "
        f"{s.name}{' ' + side if side else ''} rose from a median of {sh.baseline_median:.4g} "
        f"(usual range {sh.baseline_low:.4g}..{sh.baseline_high:.4g}) to {sh.level:.4g} or more "
        f"on {sh.need} of {sh.points} points (robust z {sh.z:+.1f}){where}"
    )
    parts = [
        f"{x.series.caller}->{x.series.callee} {x.series.name}{'/' + x.series.side.value if x.series.side else ''}: "
        f"{x.shift.baseline_median:.4g} -> {x.shift.level:.4g}"
        for shs in hit.values()
        for x in shs
    ]
    return Evidence(
        id=evidence_id(EvidenceKind.METRIC_ANOMALY, "call-edges", callee),
        kind=EvidenceKind.METRIC_ANOMALY,
        service=callee,
        summary=summary,
        excerpt="; ".join(parts[:6]),
        time_range=TimeRange(sh.first_ns or incident.start_ns, incident.end_ns),
        source_ref=f"metric:{s.name}",
        score=round(sh.z, 2),
        attributes={
            "callers": callers,
            "degraded_callers": ", ".join(sorted(hit)),
            "network_callers": ", ".join(sorted(network)),
            "explained_by_own_calls": explained,
            "robust_z": round(sh.z, 2),
        },
    )
