"""Choose the normal (baseline) and incident windows and the anomaly onset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from incidentlens.model import TimeRange
from incidentlens.telemetry.rows import MetricPoints

MINUTE_NS = 60 * 1_000_000_000
DEFAULT_SEARCH_BEFORE_ALERT_NS = 15 * MINUTE_NS
GUARD_NS = 30 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class Windows:
    baseline: TimeRange
    incident: TimeRange
    onset_ns: int
    alert_ns: int | None
    onset_reason: str
    # How precisely the onset is known: the width of the bin or step that dated it. A change within it may
    # still have started the incident (see `changes.change_findings`).
    onset_resolution_ns: int = GUARD_NS


def _first_sustained(values: np.ndarray, starts: np.ndarray, threshold: float, lo: int, hi: int) -> int | None:
    candidates = np.flatnonzero((starts >= lo) & (starts <= hi) & (values > threshold))
    for idx in candidates:
        following = values[idx : idx + 3]
        if np.mean(following > threshold) >= 2 / 3:
            return int(starts[idx])
    return None


def count_threshold(reference: np.ndarray) -> float:
    """A level that ordinary bins rarely exceed: Poisson-like counts, widened when the counts are overdispersed."""
    mean = float(np.mean(reference))
    med = float(np.median(reference))
    mad = float(np.median(np.abs(reference - med))) * 1.4826
    return max(mean + 4.0 * float(np.sqrt(mean)) + 3.0, med + 5.0 * mad)


def detect_onset(
    timeline: list[tuple[int, int, int, int, int]], *, search_from_ns: int, search_to_ns: int
) -> int | None:
    """First bin in the search range where errors or slow requests depart from their earlier level and stay.

    The reference is every bin before the search range; counts are compared, not ratios, so quiet
    bins with one unlucky request do not look like an incident.
    """
    if not timeline:
        return None
    starts = np.array([b[0] for b in timeline], dtype=np.int64)
    errors = np.array([b[1] + b[2] for b in timeline], dtype=np.float64)
    slow = np.array([b[4] for b in timeline], dtype=np.float64)
    before = starts < search_from_ns
    if int(before.sum()) < 3:
        return None
    found = [
        onset
        for series in (errors, slow)
        if (onset := _first_sustained(series, starts, count_threshold(series[before]), search_from_ns, search_to_ns))
        is not None
    ]
    return min(found) if found else None


# A symptom series departs when its value leaves the range the normal period reached and its robust level
# by this many spreads, for two of three consecutive points (one blip is not an onset).
METRIC_ONSET_Z = 4.0
_SUSTAIN = 3


def metric_onset(
    series: list[MetricPoints], *, reference_end_ns: int, search_from_ns: int, search_to_ns: int
) -> int | None:
    """The first sustained departure of a user-facing symptom (error or latency series) in the search range.

    For telemetry that is only metrics (a Prometheus source), where errors and slow requests cannot be counted
    from spans or logs. Error ratios and latencies count when they rise; success ratios when they fall.
    """
    found: list[int] = []
    for s in series:
        sign = -1.0 if "success" in s.name.lower() else 1.0
        times = np.asarray(s.times, dtype=np.int64)
        values = sign * np.asarray(s.values, dtype=np.float64)
        reference = values[times < reference_end_ns]
        if len(reference) < 3:
            continue
        median = float(np.median(reference))
        spread = max(1.4826 * float(np.median(np.abs(reference - median))), 0.05 * abs(median), 1e-9)
        level = max(median + METRIC_ONSET_Z * spread, float(reference.max()))
        departed = values > level
        for idx in np.flatnonzero(departed & (times >= search_from_ns) & (times <= search_to_ns)):
            if np.mean(departed[idx : idx + _SUSTAIN]) >= 2 / 3:
                found.append(int(times[idx]))
                break
    return min(found) if found else None


def choose_windows(
    *,
    data_start_ns: int,
    data_end_ns: int,
    alert_ns: int | None,
    onset_ns: int | None,
) -> Windows:
    """Baseline is everything before the onset (less a guard); the incident runs from onset to the end."""
    if onset_ns is not None:
        reason = "errors or slow requests depart from their normal level"
    elif alert_ns is not None:
        onset_ns = max(data_start_ns, alert_ns - 2 * MINUTE_NS)
        reason = "2 minutes before the alert (no earlier departure found in errors)"
    else:
        onset_ns = data_start_ns + (data_end_ns - data_start_ns) * 3 // 4
        reason = "last quarter of the data (no alert and no departure found)"
    baseline_end = max(data_start_ns, onset_ns - GUARD_NS)
    incident_end = max(data_end_ns, onset_ns)
    return Windows(
        baseline=TimeRange(data_start_ns, baseline_end),
        incident=TimeRange(onset_ns, incident_end),
        onset_ns=onset_ns,
        alert_ns=alert_ns,
        onset_reason=reason,
    )
