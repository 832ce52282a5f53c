"""A changed service's new pods against its old pods and its own normal period, one pod at a time.

After a deploy the first thing to compare is the new version with the old one. Averaging replicas hides it:
one new pod failing a fifth of its calls is a service at 0.95 success. So each new pod (named by the
rollout's deploy events, carrying the new version label, or started after the change) is judged on its own
first minutes of serving, after a start-up minute that is no version's steady state:
- against the service's normal period before the change (median and robust spread; it must also leave the
  range that period reached), and
- against the old pods at the same moments, or, once they are gone, their last level before they went (within
  the judged minutes): a cause below the service (a defective dependency) raises old and new pods alike, so a
  new pod only departs when it is worse than its old peers.
Call edges into the service (Istio's `destination_version`) are judged the same way per caller: the new
version's edge against the same caller's edge into the old version. That sees defects the pods' own metrics
cannot (a proxy refusing calls before the application sees them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from incidentlens.analyze.metrics import MetricKind, metric_kind
from incidentlens.telemetry.rows import LabelledSeries

SECOND_NS = 1_000_000_000
STARTUP_NS = 60 * SECOND_NS  # a starting pod's CPU burst and cold caches are not its version's behaviour
LOOK_NS = 5 * 60 * SECOND_NS  # how much of a new pod's early life is judged
NORMAL_NS = 30 * 60 * SECOND_NS  # the normal period: up to this long before the change
MIN_POINTS = 3  # a departure is sustained over several points, never one
DEPART_Z = 4.0
OUTSIDE_SHARE = 2 / 3  # of its points above the highest value the normal period reached
JUDGED = (MetricKind.ERRORS, MetricKind.LATENCY, MetricKind.CPU, MetricKind.MEMORY)
POD_LABELS = ("pod", "pod_name", "kubernetes_pod_name")
VERSION_LABELS = ("version", "app_kubernetes_io_version", "service_version", "destination_version")
CALLEE_LABELS = ("destination_workload", "destination_app", "destination_service_name", "dst_deployment")
CALLER_LABELS = ("source_workload", "source_app", "src_deployment")


@dataclass(frozen=True, slots=True)
class Rollout:
    """One service's update to one version: its deploy steps and the pods they name."""

    service: str
    version: str
    previous: str
    steps: tuple[int, ...]
    pods: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class Contrast:
    """How a rollout's new units (pods, or callers' edges into the new version) compare, for one metric."""

    signal: str  # "pods" or "edges"
    kind: MetricKind
    metric: str
    new_level: float  # median of the departing units' levels (all units when none departs)
    old_level: float  # old units at the same moments or their last level before (nan when none served near then)
    normal_level: float
    normal_max: float
    z: float  # the departing units' median departure, in robust spreads of the normal period
    departed: tuple[str, ...]
    units: tuple[str, ...]
    refuted: tuple[str, ...]  # units worse than normal but no worse than old peers, or normal at first

    @property
    def share(self) -> float:
        return len(self.departed) / len(self.units) if self.units else 0.0


@dataclass(frozen=True, slots=True)
class _Unit:
    name: str
    times: np.ndarray
    values: np.ndarray


def _spread(values: np.ndarray) -> float:
    median = float(np.median(values))
    return max(1.4826 * float(np.median(np.abs(values - median))), 0.05 * abs(median), 1e-9)


def _unit(series: list[LabelledSeries], name: str) -> _Unit:
    """One pod's or edge's points; several series of the unit (other label sets) averaged per timestamp.

    A success ratio is turned into a failure share (1 - success), so that up always means worse.
    """
    sums: dict[int, list[float]] = defaultdict(list)
    for s in series:
        success = "success" in s.name.lower()
        for t, v in zip(s.times, s.values, strict=True):
            sums[t].append(1.0 - v if success else v)
    times = np.array(sorted(sums), dtype=np.int64)
    return _Unit(name, times, np.array([float(np.mean(sums[int(t)])) for t in times]))


def _at(units: list[_Unit]) -> dict[int, float]:
    """Mean over units per timestamp."""
    acc: dict[int, list[float]] = defaultdict(list)
    for u in units:
        for t, v in zip(u.times.tolist(), u.values.tolist(), strict=True):
            acc[t].append(v)
    return {t: float(np.mean(v)) for t, v in acc.items()}


def _peer(old_at: dict[int, float], t: int) -> float | None:
    """The old units' level at `t`, else their last level before it (a replaced pod's last minutes), if recent."""
    if t in old_at:
        return old_at[t]
    earlier = [u for u in old_at if u <= t and t - u <= LOOK_NS]
    return old_at[max(earlier)] if earlier else None


def contrast(
    signal: str, kind: MetricKind, metric: str, new: list[_Unit], old: list[_Unit], first_ns: int
) -> Contrast | None:
    """Judge each new unit's early life against the normal period and its old peers at the same moments."""
    normal = [u.values[(u.times < first_ns) & (u.times >= first_ns - NORMAL_NS)] for u in old]
    pooled = np.concatenate(normal) if normal else np.array([])
    if len(pooled) < MIN_POINTS or not new:
        return None
    level, spread, ceiling = float(np.median(pooled)), _spread(pooled), float(pooled.max())
    old_at = _at(old)
    departed: list[tuple[str, float, float, float]] = []
    refuted: list[str] = []
    judged: list[tuple[str, float, float]] = []
    for u in new:
        start = int(u.times[0])
        keep = (u.times >= start + STARTUP_NS) & (u.times <= start + STARTUP_NS + LOOK_NS)
        times, values = u.times[keep], u.values[keep]
        if len(values) < MIN_POINTS:
            continue
        own = float(np.median(values))
        z_normal = (own - level) / spread
        outside = float(np.mean(values > ceiling))
        refs = [
            (v, r) for t, v in zip(times.tolist(), values.tolist(), strict=True) if (r := _peer(old_at, t)) is not None
        ]
        paired = [v - r for v, r in refs]
        peers = float(np.median([r for _, r in refs])) if refs else float("nan")
        judged.append((u.name, own, peers))
        if z_normal < DEPART_Z or outside < OUTSIDE_SHARE:
            continue
        # A version's defect shows from its first minutes of serving; a unit that was normal at first and rose
        # later is following something that began after it (a defect elsewhere), not leading.
        first = values[:MIN_POINTS]
        if float(np.mean((first - level) / spread >= DEPART_Z)) < OUTSIDE_SHARE:
            refuted.append(u.name)
            continue
        if len(paired) >= MIN_POINTS:
            z_paired = float(np.median(paired)) / spread
            if z_paired < DEPART_Z:
                refuted.append(u.name)
                continue
            z_normal = min(z_normal, z_paired)
        departed.append((u.name, z_normal, own, peers))
    if not judged:
        return None
    chosen = departed or [(n, 0.0, own, peers) for n, own, peers in judged]
    olds = [p for *_, p in chosen if not np.isnan(p)]
    return Contrast(
        signal=signal,
        kind=kind,
        metric=metric,
        new_level=float(np.median([own for _, _, own, _ in chosen])),
        old_level=float(np.median(olds)) if olds else float("nan"),
        normal_level=level,
        normal_max=ceiling,
        z=float(np.median([z for _, z, _, _ in departed])) if departed else 0.0,
        departed=tuple(n for n, *_ in departed),
        units=tuple(n for n, *_ in judged),
        refuted=tuple(refuted),
    )


def pod_contrasts(rollout: Rollout, series: list[LabelledSeries]) -> list[Contrast]:
    """Per metric of the service's pods: the rollout's new pods against its old pods and its normal period."""
    first = rollout.steps[0]
    by_metric: dict[str, dict[str, list[LabelledSeries]]] = defaultdict(lambda: defaultdict(list))
    versions: dict[str, str] = {}
    for s in series:
        pod = s.label(*POD_LABELS)
        if s.service != rollout.service or not pod or s.label(*CALLER_LABELS) or not s.times:
            continue
        by_metric[s.name][pod].append(s)
        versions.setdefault(pod, s.label(*VERSION_LABELS))
    out: list[Contrast] = []
    for name, pods in sorted(by_metric.items()):
        kind = metric_kind(name)
        if kind not in JUDGED:
            continue
        units = {pod: _unit(group, pod) for pod, group in pods.items()}
        is_new = {
            pod: pod in rollout.pods
            or (bool(rollout.version) and versions.get(pod) == rollout.version)
            or int(u.times[0]) >= first
            for pod, u in units.items()
        }
        found = contrast(
            "pods",
            kind,
            name,
            [u for p, u in units.items() if is_new[p]],
            [u for p, u in units.items() if not is_new[p]],
            first,
        )
        if found is not None:
            out.append(found)
    return out


def edge_contrasts(rollout: Rollout, series: list[LabelledSeries]) -> list[Contrast]:
    """Per metric of the call edges into the service: each caller's edge into the new version against its edge
    into the old one. Needs the callee's version on the edge (Istio's `destination_version`)."""
    if not rollout.version:
        return []
    first = rollout.steps[0]
    by_metric: dict[str, dict[tuple[str, bool], list[LabelledSeries]]] = defaultdict(lambda: defaultdict(list))
    for s in series:
        caller = s.label(*CALLER_LABELS)
        version = s.label("destination_version")
        if not caller or not version or s.label(*CALLEE_LABELS) != rollout.service or not s.times:
            continue
        by_metric[s.name][(caller, version == rollout.version)].append(s)
    out: list[Contrast] = []
    for name, groups in sorted(by_metric.items()):
        kind = metric_kind(name)
        if kind not in (MetricKind.ERRORS, MetricKind.LATENCY):
            continue
        new = [_unit(g, f"{caller} -> {rollout.service}") for (caller, fresh), g in groups.items() if fresh]
        old = [_unit(g, f"{caller} -> {rollout.service}") for (caller, fresh), g in groups.items() if not fresh]
        found = contrast("edges", kind, name, new, old, first)
        if found is not None:
            out.append(found)
    return out
