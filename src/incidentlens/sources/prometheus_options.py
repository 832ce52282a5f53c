"""The `prometheus` source's own settings keys, validated when the source is built (see docs/sources/prometheus.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from incidentlens.sources.config import SourceConfig
from incidentlens.sources.promql import parse_matchers

OPTIONS = frozenset(
    {
        "path_prefix",
        "service_label",
        "matchers",
        "min_step",
        "scrape_interval",
        "rate_window",
        "quantiles",
        "max_series",
        "max_extra_metrics",
        "queries",
    }
)
# p95 only by default: p50 adds little and p99 of a quiet service is noise the analysis can mistake for a
# shift (measured on the simulated incidents; see docs/sources/prometheus.md).
DEFAULT_QUANTILES = (0.95,)
DEFAULT_MAX_SERIES = 20_000
DEFAULT_MAX_EXTRA_METRICS = 30
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_METRIC = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*\Z")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\Z")


@dataclass(frozen=True, slots=True)
class UserQuery:
    name: str
    expr: str  # may use $__rate_interval and $__interval, as in Grafana


@dataclass(frozen=True, slots=True)
class PrometheusOptions:
    path_prefix: str = ""
    service_label: str = ""
    matchers: str = ""
    min_step_s: int = 15
    scrape_s: int = 15
    rate_window_s: int | None = None
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    max_series: int = DEFAULT_MAX_SERIES
    max_extra_metrics: int = DEFAULT_MAX_EXTRA_METRICS
    queries: tuple[UserQuery, ...] = ()


def parse_options(config: SourceConfig) -> PrometheusOptions:
    config.check_options(OPTIONS)
    o = config.options
    prefix = _string(config, "path_prefix")
    if prefix and not prefix.startswith("/"):
        raise config.option_error("'path_prefix' is a URL path starting with '/', for example /prometheus")
    label = _string(config, "service_label")
    if label and not _LABEL.match(label):
        raise config.option_error(f"'service_label' must be a label name, got {label!r}")
    matchers = _string(config, "matchers")
    try:
        parse_matchers(matchers)
    except ValueError as exc:
        raise config.option_error(f"'matchers' must be label matchers such as namespace=\"shop\" ({exc})") from None
    return PrometheusOptions(
        path_prefix=prefix.rstrip("/"),
        service_label=label,
        matchers=matchers.strip(),
        min_step_s=_duration(config, "min_step", 15),
        scrape_s=_duration(config, "scrape_interval", 15),
        rate_window_s=_duration(config, "rate_window", 0) if "rate_window" in o else None,
        quantiles=_quantiles(config, o.get("quantiles", DEFAULT_QUANTILES)),
        max_series=_count(config, "max_series", DEFAULT_MAX_SERIES, 1),
        max_extra_metrics=_count(config, "max_extra_metrics", DEFAULT_MAX_EXTRA_METRICS, 0),
        queries=_queries(config, o.get("queries", [])),
    )


def _string(config: SourceConfig, key: str) -> str:
    value = config.options.get(key, "")
    if not isinstance(value, str):
        raise config.option_error(f"'{key}' must be a string")
    return value


def _duration(config: SourceConfig, key: str, default: int) -> int:
    """Whole seconds from a number or a Prometheus-style duration ("15s", "1m", "1h30m")."""
    value = config.options.get(key, default)
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value.strip())) and any(m.groups()):
        h, mi, s = (int(g or 0) for g in m.groups())
        seconds = float(h * 3600 + mi * 60 + s)
    if seconds is None or not seconds.is_integer() or not 1 <= seconds <= 86_400:
        raise config.option_error(f"'{key}' must be whole seconds from 1 to 86400, or a duration such as 15s or 1m")
    return int(seconds)


def _count(config: SourceConfig, key: str, default: int, lowest: int) -> int:
    value = config.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= 10_000_000:
        raise config.option_error(f"'{key}' must be a whole number from {lowest} to 10000000")
    return value


def _quantiles(config: SourceConfig, value: Any) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or not all(
        isinstance(q, int | float) and not isinstance(q, bool) and 0 < q < 1 for q in value
    ):
        raise config.option_error("'quantiles' must be a list of numbers between 0 and 1, for example [0.5, 0.95]")
    return tuple(sorted({float(q) for q in value}))


def _queries(config: SourceConfig, value: Any) -> tuple[UserQuery, ...]:
    if not isinstance(value, list):
        raise config.option_error("'queries' must be a list of {name, expr}")
    out: list[UserQuery] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping) or set(entry) != {"name", "expr"}:
            raise config.option_error(f"queries[{index}] must have exactly the keys 'name' and 'expr'")
        name, expr = entry["name"], entry["expr"]
        if not isinstance(name, str) or not _METRIC.match(name):
            raise config.option_error(f"queries[{index}].name must be a metric name such as checkout_queue_depth")
        if not isinstance(expr, str) or not expr.strip():
            raise config.option_error(f"queries[{index}].expr must be a PromQL expression")
        if any(q.name == name for q in out):
            raise config.option_error(f"queries[{index}].name {name!r} is used twice")
        out.append(UserQuery(name, expr.strip()))
    return tuple(out)
