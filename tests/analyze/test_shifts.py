"""A shift needs a held level, and a saturation claim a limit or a level far outside the normal range."""

from __future__ import annotations

from incidentlens.analyze.metrics import metric_findings, robust_z, saturated
from incidentlens.analyze.shifts import support_needed, sustained_shift
from incidentlens.model import TimeRange
from incidentlens.telemetry.rows import MetricShift


def test_support_is_a_quarter_of_the_points_and_at_least_two() -> None:
    assert [support_needed(n) for n in (1, 2, 3, 4, 5, 9, 20)] == [1, 2, 2, 2, 2, 3, 5]


def test_one_blip_in_many_points_is_no_shift() -> None:
    before = [1.0, 1.02, 0.98, 1.01, 0.99, 1.0]
    blip = [(i, 1.0) for i in range(19)] + [(19, 50.0)]
    shift = sustained_shift(before, blip)
    assert shift is not None and shift.z == 0.0 and shift.support == 1
    held = sustained_shift(before, [(i, 5.0 if i >= 8 else 1.0) for i in range(20)])
    assert held is not None and held.z > 20 and held.first_ns == 8 and held.level > held.baseline_high


def _cpu(values: tuple[float, ...], *, name: str = "cpu_cores", median: float = 0.2, hi: float = 0.3) -> MetricShift:
    ordered = sorted(values)
    return MetricShift("cart", name, "{}", median, 0.01, 60, ordered[len(ordered) // 2], max(values), len(values),
                       10, values, 0.1, hi)  # fmt: skip


def test_a_starting_pods_one_minute_burst_is_not_saturation() -> None:
    # 20 points at the usual level and one burst far above it (a pod starting): no resource fault
    burst = _cpu((0.2,) * 20 + (4.0,))
    assert abs(robust_z(burst)) < 1.5 and not saturated(burst)
    assert metric_findings([burst], incident=TimeRange(0, 100)).findings == []


def test_saturation_needs_a_limit_or_far_outside_the_normal_range() -> None:
    assert saturated(_cpu((0.9, 0.95, 0.92)))  # held far above the normal period's highest 0.3
    assert not saturated(_cpu((0.31, 0.32, 0.33)))  # just above what the normal period reached
    near_limit = _cpu((85.0, 86.0, 88.0), name="CpuUsageRate(%)", median=40.0, hi=89.0)
    assert saturated(near_limit)
    findings = metric_findings([_cpu((0.31, 0.32, 0.33))], incident=TimeRange(0, 100)).findings
    assert [(f.analyzer, f.fault.value) for f in findings] == [("metric_weak", "unknown")]
