"""Change points on synthetic per-minute series: a step and a ramp are dated, noise and a single blip are not."""

from __future__ import annotations

import numpy as np

from incidentlens.analyze.changepoints import Series, change_point, estimate_onset
from incidentlens.analyze.onset import metric_symptom_series, span_series
from incidentlens.telemetry.rows import MetricPoints, ServiceBin

MINUTE = 60_000_000_000
N = 60
TIMES = tuple(i * MINUTE for i in range(N))


def _noise(seed: int, sd: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, sd, N)


def test_a_step_is_dated_at_its_first_point() -> None:
    for seed in range(10):
        values = 10.0 + _noise(seed) + np.where(np.arange(N) >= 40, 8.0, 0.0)
        cp = change_point(TIMES, values)
        assert cp is not None
        assert abs(cp.index - 40) <= 1, (seed, cp)
        assert cp.before < 11 < 17 < cp.after


def test_a_ramp_is_dated_near_where_it_starts_not_its_middle() -> None:
    # It climbs two noise sds a minute from minute 35 to the end (its middle is minute 47); a point is on the
    # new level once it is three noise scales up, two minutes in.
    for seed in range(10):
        values = 10.0 + _noise(seed) + np.clip(np.arange(N) - 35, 0, None) * 2.0
        cp = change_point(TIMES, values)
        assert cp is not None
        assert 36 <= cp.index <= 39, (seed, cp.index)


def test_noise_alone_has_no_change_point() -> None:
    for seed in range(50):
        assert change_point(TIMES, 10.0 + _noise(seed)) is None, seed


def test_a_single_blip_however_large_is_no_change_point() -> None:
    for seed in range(10):
        values = 10.0 + _noise(seed)
        values[45] += 500.0
        assert change_point(TIMES, values) is None, seed


def test_rare_counts_need_a_sustained_rise_beyond_their_poisson_noise() -> None:
    rng = np.random.default_rng(3)
    quiet = rng.poisson(0.2, N).astype(float)
    # A few extra errors in the last minutes of a near-silent count is chance, not an onset.
    chance = quiet.copy()
    chance[50:] += rng.poisson(0.6, N - 50)
    assert change_point(TIMES, chance, min_scale=1.0) is None
    failing = quiet.copy()
    failing[50:] += rng.poisson(20.0, N - 50)
    cp = change_point(TIMES, failing, min_scale=1.0)
    assert cp is not None and cp.index == 50


def test_a_drop_is_not_a_rise() -> None:
    values = 10.0 + _noise(1) - np.where(np.arange(N) >= 40, 8.0, 0.0)
    assert change_point(TIMES, values) is None


def test_too_short_a_series_says_nothing() -> None:
    assert change_point(TIMES[:5], [1.0, 1.0, 9.0, 9.0, 9.0]) is None


def test_the_onset_is_the_strongest_rise_in_the_search_range_and_names_it() -> None:
    def step(at: int, size: float) -> tuple[float, ...]:
        return tuple(float(v) for v in 10.0 + _noise(at) + np.where(np.arange(N) >= at, size, 0.0))

    series = [
        Series("frontend", "latency p90", TIMES, step(40, 7.0)),  # earlier but weaker: dated more loosely
        Series("cart", "error rate", TIMES, step(42, 20.0)),
        Series("old", "error rate", TIMES, step(10, 90.0)),  # an earlier episode, before the search range
        Series("quiet", "latency p90", TIMES, tuple(float(v) for v in 10.0 + _noise(9))),
    ]
    onset = estimate_onset(series, search_from_ns=30 * MINUTE, search_to_ns=55 * MINUTE)
    assert onset is not None
    assert (onset.service, onset.signal, onset.ts_ns, onset.resolution_ns) == (
        "cart",
        "error rate",
        42 * MINUTE,
        MINUTE,
    )
    assert onset.reason.startswith("cart error rate change point (")
    assert estimate_onset(series[3:], search_from_ns=30 * MINUTE, search_to_ns=55 * MINUTE) is None


def test_plain_shifts_tie_at_the_cap_and_the_earliest_dates_the_onset() -> None:
    huge = [
        Series(name, "latency p90", TIMES, tuple(1.0 + 0.01 * _noise(at) + np.where(np.arange(N) >= at, 500.0, 0.0)))
        for name, at in (("late", 45), ("early", 43))
    ]
    onset = estimate_onset(huge, search_from_ns=30 * MINUTE, search_to_ns=55 * MINUTE)
    assert onset is not None and onset.service == "early" and onset.change.z == 50.0


def test_span_bins_become_error_and_latency_series_with_missing_bins_as_zero_errors() -> None:
    bins = [ServiceBin("cart", t, 50, 3 if t == 5 * MINUTE else 0, 12.0 + t / MINUTE) for t in TIMES[:10]]
    bins.append(ServiceBin("cart", 10 * MINUTE, 2, 4, 900.0))  # too few requests for a p90
    bins.append(ServiceBin("rare", 3 * MINUTE, 40, 1, 5.0))
    series = {(s.service, s.signal): s for s in span_series(bins, start_ns=0, end_ns=11 * MINUTE, bin_ns=MINUTE)}
    errors = series[("cart", "error rate")]
    assert errors.values == (0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4, 0)
    assert errors.min_scale == 1.0
    assert series[("cart", "latency p90")].times == TIMES[:10]
    assert ("rare", "error rate") not in series  # one error in the whole series cannot rise


def test_symptom_metrics_rise_when_they_get_worse() -> None:
    points = [
        MetricPoints("cart", "grpc_success_ratio", TIMES[:3], (1.0, 0.9, 0.5)),
        MetricPoints("cart", "latency_ms", TIMES[:3], (10.0, 12.0, 30.0)),
        MetricPoints("cart", "cpu_usage", TIMES[:3], (0.1, 0.2, 0.3)),
    ]
    series = metric_symptom_series(points)
    assert [(s.signal, s.values) for s in series] == [
        ("grpc_success_ratio", (0.0, 0.09999999999999998, 0.5)),
        ("latency_ms", (10.0, 12.0, 30.0)),
    ]
