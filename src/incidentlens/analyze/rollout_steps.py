"""Rollout steps as a time series: the symptom that grows with each step of one service's rollout is its.

A rolling update replaces one pod at a time, so a defective version's share of the traffic, and with it the
symptom, rises by a step at each pod it replaces, while a healthy service's rollout leaves the symptom as it
was (low before the incident, high after it). The symptom index is the mean, over every error and latency
series, of how far it stands above its own normal level, in robust spreads, log-compressed (log1p) so that one
series far off cannot outweigh every other while each further step still shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from incidentlens.analyze.metrics import MetricKind, metric_kind
from incidentlens.telemetry.rows import MetricPoints

RISE_SPREADS = 3.0  # a step counts as a rise when the index grows by this many of its own normal spreads
MIN_SEGMENT_POINTS = 2


@dataclass(frozen=True, slots=True)
class StepGrowth:
    levels: tuple[float, ...]  # symptom index before the first step, then after each step
    rises: int  # steps after which the index rose
    steps: int
    total_rise: float  # last level minus the level before the rollout, in spreads of the index's noise

    @property
    def share(self) -> float:
        return self.rises / self.steps if self.steps else 0.0


def symptom_index(series: list[MetricPoints], *, normal_end_ns: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(times, index, spread of the index in the normal period) over every error and latency series."""
    columns: dict[int, list[float]] = {}
    for s in series:
        kind = metric_kind(s.name)
        if kind not in (MetricKind.ERRORS, MetricKind.LATENCY):
            continue
        times = np.asarray(s.times, dtype=np.int64)
        values = np.asarray(s.values, dtype=np.float64) * (-1.0 if "success" in s.name.lower() else 1.0)
        normal = values[times < normal_end_ns]
        if len(normal) < 3:
            continue
        median = float(np.median(normal))
        spread = max(1.4826 * float(np.median(np.abs(normal - median))), 0.05 * abs(median), 1e-9)
        z = np.log1p(np.clip((values - median) / spread, 0.0, None))
        for t, v in zip(times.tolist(), z.tolist(), strict=True):
            columns.setdefault(t, []).append(v)
    if not columns:
        return np.array([], dtype=np.int64), np.array([]), 0.0
    times = np.array(sorted(columns), dtype=np.int64)
    index = np.array([float(np.mean(columns[int(t)])) for t in times])
    normal = index[times < normal_end_ns]
    spread = max(1.4826 * float(np.median(np.abs(normal - np.median(normal)))), 1e-3) if len(normal) >= 3 else 1.0
    return times, index, spread


def step_growth(steps: tuple[int, ...], times: np.ndarray, index: np.ndarray, spread: float) -> StepGrowth | None:
    """How the symptom index moved at each step of one rollout (segments between consecutive steps)."""
    if len(steps) < 2 or len(times) == 0:
        return None
    gap = int(np.median(np.diff(np.asarray(steps, dtype=np.int64))))
    bounds = [steps[0] - gap, *steps, steps[-1] + gap]
    levels: list[float] = []
    noise = [spread]
    for lo, hi in pairwise(bounds):
        inside = index[(times > lo) & (times <= hi)]
        if len(inside) < MIN_SEGMENT_POINTS:
            return None
        levels.append(float(np.median(inside)))
        noise.append(1.4826 * float(np.median(np.abs(inside - np.median(inside)))))
    # The index is noisier once it is high than in the normal period: a rise must clear the noisier of the two.
    floor = max(spread, float(np.median(noise[1:])))
    rises = sum(1 for a, b in pairwise(levels) if b - a >= RISE_SPREADS * floor)
    return StepGrowth(tuple(levels), rises, len(steps), (levels[-1] - levels[0]) / floor)
