"""Compare two windows of template counts: what is new, gone, up or down, each with a proper test.

The test is the conditional binomial test for two Poisson rates: given `n = incident + baseline` lines,
the incident count is Binomial(n, p0) under "same rate", with `p0 = incident_exposure / (both exposures)`.
It is exact (summed with `math.lgamma`) up to `EXACT_LIMIT` lines and a normal approximation with
continuity correction above; the statistic is reported as a signed z (positive: more in the incident).

Increases are tested on rates per second, so a window of other length compares fairly. Decreases are
tested on shares of all lines of the compared set, so a drop in traffic alone is not a code path that
stopped running: a template is `GONE` or `DOWN` only when its rate fell and its share of the lines fell too
(the statistic reported is the share test).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

EXACT_LIMIT = 2_000
MIN_Z = 3.0  # one-sided p ~ 0.0013: a shift worth a reader's attention
# With many lines a 10 % wobble is "significant"; a shift must also be large enough to matter.
MIN_RATIO = 2.0
MAX_Z = 40.0  # beyond this the statistic says nothing more; keeps scores and JSON finite
_NORMAL = NormalDist()
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class Shift(StrEnum):
    NEW = "new"
    GONE = "gone"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class RateTest:
    """The outcome of one two-rate test: signed z, the natural log of the one-sided p-value, the rate ratio."""

    z: float
    log_p: float
    ratio: float


@dataclass(frozen=True, slots=True)
class TemplateShift(Generic[K]):
    """One template that changed significantly between the windows."""

    key: K
    shift: Shift
    baseline_count: int
    incident_count: int
    test: RateTest


def rate_test(incident: int, baseline: int, *, incident_exposure: float, baseline_exposure: float) -> RateTest:
    """Test whether `incident` counts over `incident_exposure` differ from `baseline` over `baseline_exposure`.

    The direction is the observed one: the p-value is P(X >= incident) for a rise, P(X <= incident) for a fall.
    Exposures are seconds (or line totals); both must be positive.
    """
    if incident_exposure <= 0 or baseline_exposure <= 0:
        raise ValueError(f"exposures must be positive, got {incident_exposure} and {baseline_exposure}")
    if incident < 0 or baseline < 0:
        raise ValueError(f"counts must be non-negative, got {incident} and {baseline}")
    n = incident + baseline
    p0 = incident_exposure / (incident_exposure + baseline_exposure)
    ratio = _ratio(incident, baseline, incident_exposure, baseline_exposure)
    if n == 0:
        return RateTest(0.0, 0.0, ratio)
    expected = n * p0
    up = incident >= expected
    if n <= EXACT_LIMIT:
        log_p = _log_tail(incident, n, p0, upper=up)
        z = _z_from_log_p(log_p)
    else:
        sd = math.sqrt(n * p0 * (1 - p0))
        z = max(abs(incident - expected) - 0.5, 0.0) / sd
        log_p = _log_normal_sf(z)
    z = min(z, MAX_Z)
    return RateTest(z if up else -z, log_p, ratio)


def diff_counts(
    baseline: Mapping[K, int],
    incident: Mapping[K, int],
    *,
    baseline_seconds: float,
    incident_seconds: float,
    min_z: float = MIN_Z,
    min_ratio: float = MIN_RATIO,
) -> list[TemplateShift[K]]:
    """Every key whose count changed significantly and by at least `min_ratio` (or `1 / min_ratio`).

    Strongest first (ties by count, then key text).
    `baseline_seconds`/`incident_seconds` are the window lengths; pass equal values (or line totals) when
    the sources carry no usable timestamps.
    """
    base_total = sum(baseline.values())
    inc_total = sum(incident.values())
    out: list[TemplateShift[K]] = []
    for key in set(baseline) | set(incident):
        b, i = baseline.get(key, 0), incident.get(key, 0)
        test = rate_test(i, b, incident_exposure=incident_seconds, baseline_exposure=baseline_seconds)
        if test.z >= min_z and test.ratio >= min_ratio:
            out.append(TemplateShift(key, Shift.NEW if b == 0 else Shift.UP, b, i, test))
            continue
        # A fall is judged against the other lines of the set, so a quieter window is not evidence by itself;
        # without other lines in both windows there is nothing to judge it against.
        if test.z >= 0 or base_total == b or inc_total == i:
            continue
        share = rate_test(i, b, incident_exposure=inc_total - i, baseline_exposure=base_total - b)
        if share.z <= -min_z and test.z <= -min_z and share.ratio <= 1 / min_ratio:
            out.append(TemplateShift(key, Shift.GONE if i == 0 else Shift.DOWN, b, i, share))
    out.sort(key=lambda s: (-abs(s.test.z), -(s.incident_count + s.baseline_count), str(s.key)))
    return out


def _ratio(incident: int, baseline: int, incident_exposure: float, baseline_exposure: float) -> float:
    """Incident rate over baseline rate; infinite for a new template, 1.0 when both are empty."""
    if baseline == 0:
        return math.inf if incident else 1.0
    return (incident / incident_exposure) / (baseline / baseline_exposure)


def _log_tail(k: int, n: int, p: float, *, upper: bool) -> float:
    """log P(X >= k) (upper) or log P(X <= k) for X ~ Binomial(n, p), summed in log space."""
    lp, lq = math.log(p), math.log1p(-p)
    head = math.lgamma(n + 1)
    terms = range(k, n + 1) if upper else range(0, k + 1)
    logs = [head - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * lp + (n - j) * lq for j in terms]
    top = max(logs)
    return min(0.0, top + math.log(sum(math.exp(v - top) for v in logs)))


def _z_from_log_p(log_p: float) -> float:
    """The standard-normal z with one-sided tail probability exp(log_p) (asymptotic where floats underflow)."""
    if log_p >= math.log(0.5):
        return 0.0
    if log_p > -700.0:
        return -_NORMAL.inv_cdf(math.exp(log_p))
    # Mills ratio: -log p = z^2/2 + log z + log sqrt(2 pi); a few fixed-point steps converge.
    target = -log_p
    z = math.sqrt(2 * target)
    for _ in range(6):
        z = math.sqrt(max(2 * (target - math.log(z) - _LOG_SQRT_2PI), 1e-12))
    return z


def _log_normal_sf(z: float) -> float:
    """log P(Z >= z) for a standard normal, without underflow for large z."""
    if z < 8.0:
        return math.log(_NORMAL.cdf(-z))
    return -0.5 * z * z - math.log(z) - _LOG_SQRT_2PI
