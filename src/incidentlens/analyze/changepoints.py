"""When did a series change level: a two-segment shift test over per-minute series, and the incident onset.

The split of a series into a "before" and an "after" segment (each at least `MIN_SEGMENT` points) that two
medians fit best (least absolute deviations) is the candidate; it is a change point when the rise of the
after-median over the before-median, divided by its standard error (the noise scale from the first
differences, which a level shift barely moves, times the medians' sampling factor), reaches `CHANGE_Z`.
Medians make one blip, however large, move nothing: it is never the median of a segment of three or more.
The onset is then walked back to the first point of the run of points above the old level that ends at the
split (one point in the noise does not break the run), so a ramp is dated near where it starts rather than at
its middle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_SEGMENT = 3  # points on each side: fewer cannot tell a sustained level from a blip
# The largest of many correlated split statistics under "no change" rarely passes 4; 6 keeps the many series
# of a large system (several per service) from dating an onset by chance.
CHANGE_Z = 6.0
# Beyond this a shift is plain to see; stronger statistics do not date it better (and noise floors near zero
# give absurd values), so candidates at the cap tie and the earliest of them dates the onset.
MAX_Z = 50.0
# A point belongs to the new level when it lies this many noise scales above the old level.
DEPART_SCALES = 3.0
_MEDIAN_FACTOR = math.sqrt(math.pi / 2)  # standard error of a median over that of a mean (normal noise)


@dataclass(frozen=True, slots=True)
class Series:
    """One per-service series to date an onset from: equally spaced points, oldest first."""

    service: str
    signal: str  # what the values are, for a reader: "error rate", "latency p90", a metric's name
    times: tuple[int, ...]
    values: tuple[float, ...]
    min_scale: float = 0.0  # the smallest noise scale to assume (e.g. Poisson noise of a count)


@dataclass(frozen=True, slots=True)
class ChangePoint:
    index: int  # first point of the new level
    ts_ns: int
    before: float  # median before the split
    after: float  # median from the split on
    z: float


@dataclass(frozen=True, slots=True)
class Onset:
    """The earliest significant rise among the series: when, where and in which signal."""

    ts_ns: int
    service: str
    signal: str
    change: ChangePoint
    resolution_ns: int  # the series' step: the onset lies within one step of `ts_ns`

    @property
    def reason(self) -> str:
        return (
            f"{self.service} {self.signal} change point ({_level(self.change.before)} -> "
            f"{_level(self.change.after)}, z {self.change.z:.1f})"
        )


def noise_scale(values: np.ndarray) -> float:
    """Robust noise of a series from its first differences: a level shift is one outlier among them."""
    if len(values) < 3:
        return 0.0
    diffs = np.diff(values)
    return float(1.4826 * np.median(np.abs(diffs - np.median(diffs))) / math.sqrt(2))


def change_point(
    times: Sequence[int], values: Sequence[float], *, min_scale: float = 0.0, min_z: float = CHANGE_Z
) -> ChangePoint | None:
    """The most significant rise in level of `values` (oldest first), or None when no split reaches `min_z`."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n < 2 * MIN_SEGMENT or len(times) != n:
        return None
    scale = max(noise_scale(x), min_scale, 1e-9 * max(1.0, float(np.max(np.abs(x)))))
    # Where: the split whose two medians fit the series best (least absolute deviations, the robust
    # counterpart of least squares); the median test alone would prefer an early split, whose "after"
    # median stays high while fewer than half its points are old ones.
    splits = range(MIN_SEGMENT, n - MIN_SEGMENT + 1)
    best_k = min(splits, key=lambda k: _l1_cost(x[:k]) + _l1_cost(x[k:]))
    before_part = x[:best_k]
    # Smoothed series (a rate over a minute sampled every 15 s) wander: neighbours share noise, so a segment
    # holds fewer independent points than it has. The level's own spread and the lag-one correlation of the
    # normal segment widen the error accordingly.
    spread = max(scale, 1.4826 * float(np.median(np.abs(before_part - np.median(before_part)))))
    rho = _lag_one(before_part)
    inflation = math.sqrt((1 + rho) / (1 - rho))
    before, after = float(np.median(before_part)), float(np.median(x[best_k:]))
    z = (after - before) / (spread * inflation * _MEDIAN_FACTOR * math.sqrt(1 / best_k + 1 / (n - best_k)))
    if z < min_z:
        return None
    start = best_k
    level = before + DEPART_SCALES * spread
    while start > 1:  # one point back in the noise does not end a ramp's run, two do
        if x[start - 1] > level:
            start -= 1
        elif start > 2 and x[start - 2] > level:
            start -= 2
        else:
            break
    return ChangePoint(start, int(times[start]), before, after, round(min(z, MAX_Z), 2))


def estimate_onset(series: Sequence[Series], *, search_from_ns: int, search_to_ns: int) -> Onset | None:
    """The strongest change point in the search range over every series; among equals, the earliest.

    A weak change point is dated loosely (a noisy or two-level series lets the split wander by minutes); the
    strongest dates the incident best. Series that rise only before the search range (an older, unrelated
    episode) or after it do not date this incident.
    """
    found: list[Onset] = []
    for s in series:
        cp = change_point(s.times, s.values, min_scale=s.min_scale)
        if cp is not None and search_from_ns <= cp.ts_ns <= search_to_ns:
            step = int(np.median(np.diff(np.asarray(s.times, dtype=np.int64))))
            found.append(Onset(cp.ts_ns, s.service, s.signal, cp, step))
    if not found:
        return None
    return min(found, key=lambda o: (-o.change.z, o.ts_ns, o.service, o.signal))


def _lag_one(segment: np.ndarray) -> float:
    """Lag-one autocorrelation of a segment, kept in [0, 0.9] (negative correlation only narrows the error)."""
    if len(segment) < 4 or float(np.std(segment[:-1])) == 0.0 or float(np.std(segment[1:])) == 0.0:
        return 0.0
    r = float(np.corrcoef(segment[:-1], segment[1:])[0, 1])
    return 0.0 if math.isnan(r) else min(max(r, 0.0), 0.9)


def _l1_cost(segment: np.ndarray) -> float:
    return float(np.abs(segment - np.median(segment)).sum())


def _level(value: float) -> str:
    return f"{value:.3g}"
