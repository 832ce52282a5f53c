"""The incident onset from the data: per-service error and latency series, dated by their change points.

Spans give, per service and minute, the errors of its spans and the p90 of the requests it served; symptom
metrics (error ratios, latencies) give their own series. The strongest change point in the search range
(among plain shifts, the earliest; `changepoints.estimate_onset`) dates the onset and names its service and
signal.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from incidentlens.analyze.changepoints import Series
from incidentlens.analyze.metrics import MetricKind, metric_kind
from incidentlens.telemetry.rows import MetricPoints, ServiceBin

MIN_ERRORS = 5  # fewer errors in the whole series cannot make a sustained rise
MIN_SERVED = 5  # a p90 over fewer requests in a bin is one request's luck


def span_series(bins: list[ServiceBin], *, start_ns: int, end_ns: int, bin_ns: int) -> list[Series]:
    """Per service: errors per bin (absent bins count zero) and the p90 of served requests (bins with enough)."""
    by_service: dict[str, dict[int, ServiceBin]] = defaultdict(dict)
    for b in bins:
        by_service[b.service][b.start_ns] = b
    starts = list(range(start_ns, end_ns + 1, bin_ns))
    out: list[Series] = []
    for service, found in sorted(by_service.items()):
        errors = [float(found[t].errors) if t in found else 0.0 for t in starts]
        if sum(errors) >= MIN_ERRORS:
            # Counts are Poisson at best: their noise is at least the square root of their usual level.
            floor = math.sqrt(max(float(np.median(errors)), 1.0))
            out.append(Series(service, "error rate", tuple(starts), tuple(errors), floor))
        kept = [t for t in starts if t in found and found[t].served >= MIN_SERVED]
        if len(kept) >= 2:
            p90 = tuple(found[t].p90_ms for t in kept)
            out.append(Series(service, "latency p90", tuple(kept), p90, 0.05 * float(np.median(p90))))
    return out


def metric_symptom_series(series: list[MetricPoints]) -> list[Series]:
    """Error and latency metrics as rising series: a success ratio counts as its shortfall."""
    out: list[Series] = []
    for s in series:
        kind = metric_kind(s.name)
        if kind not in (MetricKind.ERRORS, MetricKind.LATENCY):
            continue
        values = np.asarray(s.values, dtype=np.float64)
        if "success" in s.name.lower():
            values = 1.0 - values if float(np.max(values, initial=0.0)) <= 1.0 else -values
        out.append(
            Series(s.service, s.name, s.times, tuple(float(v) for v in values), 0.02 * float(np.median(np.abs(values))))
        )
    return out
