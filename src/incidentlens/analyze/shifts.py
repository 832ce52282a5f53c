"""A rise that holds: the level most incident points reach, against the normal period's median and spread.

One blip is not a shift. The level is the value that at least a quarter of the incident points (and never
fewer than two when there are two) reach or exceed, so a single spike leaves it at the series' usual values.
The usual range quoted beside it is the normal period's 10th to 90th percentile, and a shift counts only
when the level is above it too, so the text never calls a value inside that range a rise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAD_TO_SIGMA = 1.4826
RELATIVE_SPREAD_FLOOR = 0.05  # a flat series still varies by 5 % of its level before a move counts
MIN_BASELINE_POINTS = 3
SUPPORT_SHARE_DIVISOR = 4


@dataclass(frozen=True, slots=True)
class SustainedShift:
    baseline_median: float
    baseline_low: float  # 10th percentile of the normal period
    baseline_high: float  # 90th percentile
    level: float  # the value at least `need` incident points reach
    z: float  # (level - median) / spread; 0 when the level is inside the usual range
    support: int  # incident points above the usual range
    need: int  # points the level had to be reached by
    points: int
    first_ns: int  # first incident point above the usual range; 0 when none


def support_needed(points: int) -> int:
    """A quarter of the incident points, at least two (one when there is only one): several points, so that
    one blip is never a shift, while a fault that shows in part of a long incident window still counts."""
    return min(points, max(2, math.ceil(points / SUPPORT_SHARE_DIVISOR)))


def sustained_shift(
    before: list[float], during: list[tuple[int, float]], *, spread_floor: float = 0.0
) -> SustainedShift | None:
    """The upward shift of `during` ((time, value) pairs) against `before`; None without enough points."""
    if len(before) < MIN_BASELINE_POINTS or not during:
        return None
    base = np.asarray(before, dtype=float)
    median = float(np.median(base))
    mad = float(np.median(np.abs(base - median)))
    low, high = (float(q) for q in np.quantile(base, [0.1, 0.9]))
    spread = max(MAD_TO_SIGMA * mad, RELATIVE_SPREAD_FLOOR * abs(median), spread_floor, 1e-9)
    need = support_needed(len(during))
    level = sorted((v for _, v in during), reverse=True)[need - 1]
    above = [(t, v) for t, v in during if v > high]
    z = (level - median) / spread if level > high else 0.0
    return SustainedShift(
        baseline_median=median,
        baseline_low=low,
        baseline_high=high,
        level=level,
        z=float(np.clip(z, -100.0, 100.0)),
        support=len(above),
        need=need,
        points=len(during),
        first_ns=min((t for t, _ in above), default=0),
    )
