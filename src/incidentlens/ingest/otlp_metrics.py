"""OTLP/JSON metrics (`resourceMetrics`) -> metric rows: one row per gauge/sum point, derived series for
histograms and summaries (`<name>_count`, `<name>_sum`, `<name>_p50`/`_p90`/`_p99`)."""

from __future__ import annotations

import math
from typing import Any

from incidentlens.ingest.common import dumps
from incidentlens.ingest.otlp_common import (
    OtlpReader,
    Position,
    RecordError,
    attributes,
    resource_info,
    scopes,
    unix_nano,
)
from incidentlens.ingest.sink import RowSink

QUANTILES = (0.5, 0.9, 0.99)
_NO_RECORDED_VALUE = 1  # DataPointFlags: a staleness marker, not a sample


def _number(raw: Any, what: str) -> float:
    """A JSON number or the proto3 JSON string forms ("12", "NaN", "Infinity")."""
    if isinstance(raw, bool) or raw is None:
        raise RecordError(f"{what} is missing or not a number")
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise RecordError(f"{what} {str(raw)[:40]!r} is not a number") from None


def _suffix(quantile: float) -> str:
    return f"_p{quantile * 100:g}"


def histogram_quantile(
    q: float, bounds: list[float], counts: list[float], low: float | None, high: float | None
) -> float:
    """Estimate a quantile from explicit-bucket counts, as Prometheus' histogram_quantile does.

    Find the bucket holding rank q*total and interpolate linearly inside it, assuming observations are
    spread evenly. Bucket i spans (bounds[i-1], bounds[i]]; the first bucket starts at the recorded min
    (else 0, or its own bound when that is not positive), the overflow bucket ends at the recorded max
    (else the estimate is the highest finite bound). The result is clamped to [min, max] when known.
    """
    total = sum(counts)
    rank = q * total
    cumulative = 0.0
    index = len(counts) - 1
    for i, count in enumerate(counts):
        if count > 0 and cumulative + count >= rank:
            index = i
            break
        cumulative += count
    else:  # rounding left the rank past the last bucket: use the last one
        cumulative = total - counts[index]
    in_bucket = counts[index]
    if index == 0:
        upper = bounds[0]
        lower = low if low is not None else (0.0 if upper > 0 else upper)
    elif index >= len(bounds):
        lower = bounds[-1]
        upper = high if high is not None else lower
    else:
        lower, upper = bounds[index - 1], bounds[index]
    fraction = (rank - cumulative) / in_bucket if in_bucket > 0 else 1.0
    value = lower + (upper - lower) * min(max(fraction, 0.0), 1.0)
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


def _optional(point: dict[str, Any], key: str) -> float | None:
    return _number(point[key], key) if point.get(key) is not None else None


def _number_point(point: dict[str, Any]) -> list[tuple[str, float]]:
    for key in ("asDouble", "asInt"):
        if point.get(key) is not None:
            return [("", _number(point[key], key))]
    raise RecordError("data point has neither asDouble nor asInt")


def _histogram_point(point: dict[str, Any]) -> list[tuple[str, float]]:
    values = [("_count", _number(point.get("count", 0), "count"))]
    if point.get("sum") is not None:
        values.append(("_sum", _number(point["sum"], "sum")))
    bounds_raw, counts_raw = point.get("explicitBounds"), point.get("bucketCounts")
    if not bounds_raw or not isinstance(bounds_raw, list) or not isinstance(counts_raw, list):
        return values
    bounds = [_number(b, "explicitBounds") for b in bounds_raw]
    counts = [_number(c, "bucketCounts") for c in counts_raw]
    if len(counts) != len(bounds) + 1:
        raise RecordError(f"{len(counts)} bucketCounts for {len(bounds)} explicitBounds (want bounds + 1)")
    if bounds != sorted(bounds) or any(c < 0 for c in counts):
        raise RecordError("explicitBounds not ascending or negative bucketCounts")
    if sum(counts) > 0:
        low, high = _optional(point, "min"), _optional(point, "max")
        values.extend((_suffix(q), histogram_quantile(q, bounds, counts, low, high)) for q in QUANTILES)
    return values


def _count_sum_point(point: dict[str, Any]) -> list[tuple[str, float]]:
    values = [("_count", _number(point.get("count", 0), "count"))]
    if point.get("sum") is not None:
        values.append(("_sum", _number(point["sum"], "sum")))
    return values


def _summary_point(point: dict[str, Any]) -> list[tuple[str, float]]:
    values = _count_sum_point(point)
    quantiles = point.get("quantileValues")
    for item in quantiles if isinstance(quantiles, list) else []:
        if not isinstance(item, dict):
            raise RecordError("quantileValues entry is not an object")
        q = _number(item.get("quantile", 0), "quantile")
        values.append((_suffix(q), _number(item.get("value", 0), "quantile value")))
    return values


_KINDS = {
    "gauge": _number_point,
    "sum": _number_point,
    "histogram": _histogram_point,
    "exponentialHistogram": _count_sum_point,
    "summary": _summary_point,
}


def _add_metric(metric: dict[str, Any], service: str, sink: RowSink, where: Position) -> None:
    metric_index = where.next_index("metric")
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        where.problem(sink, f"metric #{metric_index}: missing name")
        return
    kind = next((k for k in _KINDS if isinstance(metric.get(k), dict)), None)
    if kind is None:
        return  # metadata-only metric (no data field): nothing to sample
    points = metric[kind].get("dataPoints")
    for point in points if isinstance(points, list) else []:
        index = where.next_index("point")
        try:
            if not isinstance(point, dict):
                raise RecordError("data point is not an object")
            if int(point.get("flags") or 0) & _NO_RECORDED_VALUE:
                continue
            ts = unix_nano(point, "timeUnixNano")
            values = _KINDS[kind](point)
        except (RecordError, ValueError, TypeError) as exc:
            where.problem(sink, f"metric {name!r} data point #{index}: {exc}")
            continue
        labels = dumps(attributes(point.get("attributes")))
        for suffix, value in values:
            sink.metrics.add(
                ts_ns=ts,
                service=service,
                name=name + suffix,
                labels=labels,
                value=None if math.isnan(value) else value,
                source=where.source(index),
            )


def add_resource_metrics(resources: list[Any], sink: RowSink, where: Position) -> None:
    """Append every data point of a `resourceMetrics` list; bad points become problems."""
    for resource in resources:
        if not isinstance(resource, dict):
            where.problem(sink, "resource entry is not an object")
            continue
        service, _ = resource_info(resource)
        for scope in scopes(resource, "scopeMetrics"):
            metrics = scope.get("metrics")
            for metric in metrics if isinstance(metrics, list) else []:
                if isinstance(metric, dict):
                    _add_metric(metric, service, sink, where)
                else:
                    where.problem(sink, f"metric #{where.next_index('metric')}: not an object")


READER = OtlpReader(name="otlp-metrics", signals=("metrics",), key="resourceMetrics")
