"""The PromQL the Prometheus source sends, built from what discovery found: pure, no I/O.

`timing` picks the step (at most `MAX_POINTS` points per series, never below `min_step`) and the windows of
`rate()` (Grafana's `$__rate_interval`: step + scrape interval, at least four scrape intervals) and of
`avg_over_time()` for gauges (one step, at least one scrape interval). `Catalog` holds the discovered series;
`family_queries`, `resource_queries` and `extra_queries` turn it into `PlannedQuery`s.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from incidentlens.model import TimeRange
from incidentlens.sources.promql_families import APP_LABELS, RequestFamily, Resource

MAX_POINTS = 1000
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


@dataclass(frozen=True, slots=True)
class Timing:
    """Query range (seconds, aligned to the step inside the window) and the range-vector windows."""

    start_s: int
    end_s: int
    step_s: int
    rate_window_s: int
    gauge_window_s: int

    @property
    def points(self) -> int:
        return (self.end_s - self.start_s) // self.step_s + 1


def timing(window: TimeRange, *, min_step_s: int, scrape_s: int, rate_window_s: int | None = None) -> Timing:
    span_s = max(0, (window.end_ns - window.start_ns)) / 1e9
    step = max(min_step_s, math.ceil(span_s / (MAX_POINTS - 1)) if span_s else min_step_s)
    start = math.ceil(window.start_ns / 1e9 / step) * step
    end = max(start, math.floor(window.end_ns / 1e9 / step) * step)
    rate = rate_window_s or max(step + scrape_s, 4 * scrape_s)
    return Timing(start, end, step, rate, max(step, scrape_s))


def duration(seconds: int) -> str:
    """A PromQL duration: `90s` (whole seconds keep queries readable and cache-friendly)."""
    return f"{seconds}s"


@dataclass(frozen=True, slots=True)
class PlannedQuery:
    name: str  # the row name of every series it returns
    expr: str
    service_label: str = ""  # the label naming the service ("": the reader's default labels)
    group: str = ""  # requests, resources, edges, extra or user: counted in the report's notes


def quote(value: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def alternation(values: Iterable[str]) -> str:
    """An RE2 alternation matching exactly these values."""
    return "|".join(_RE2_SPECIAL.sub(r"\\\1", v) for v in sorted(set(values)))


def matcher(label: str, values: Iterable[str]) -> str:
    return f"{label}=~{quote(alternation(values))}"


def selector(name: str, *matchers: str) -> str:
    inner = ", ".join(m for m in matchers if m)
    return f"{name}{{{inner}}}" if inner else name


_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def parse_matchers(text: str) -> list[tuple[str, str, str]]:
    """(label, operator, value) of selector matchers such as `a="x", b=~"y|z"`; the text must be only that."""
    out: list[tuple[str, str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _MATCHER.match(text, pos)
        if m is None:
            raise ValueError(f"not a label matcher at {text[pos : pos + 30]!r}")
        value = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), m.group(3))
        out.append((m.group(1), m.group(2), value))
        pos = m.end()
    return out


def _matches(labels: Mapping[str, str], matchers: list[tuple[str, str, str]]) -> bool:
    for label, op, value in matchers:
        actual = labels.get(label, "")
        ok = actual == value if op in ("=", "!=") else re.fullmatch(value, actual) is not None
        if ok != (op in ("=", "=~")):
            return False
    return True


class Catalog:
    """The discovered series (label sets with `__name__`), indexed by name, and the names known to exist
    without their series (histogram buckets: their presence is all a query needs)."""

    def __init__(self, series: Iterable[Mapping[str, str]], names: Iterable[str] = ()) -> None:
        self.names = set(names)
        self.by_name: dict[str, list[Mapping[str, str]]] = {}
        for labels in series:
            self.by_name.setdefault(labels.get("__name__", ""), []).append(labels)

    def series(self, name: str, matchers: str = "") -> list[Mapping[str, str]]:
        """`name`'s series that a family's own matchers select (Istio's reporter, Linkerd's direction)."""
        found = self.by_name.get(name, [])
        parsed = parse_matchers(matchers) if matchers else []
        return [labels for labels in found if _matches(labels, parsed)] if parsed else found

    def has(self, name: str, matchers: str = "") -> bool:
        return bool(self.series(name, matchers)) if matchers or name in self.by_name else name in self.names

    def label_for(self, name: str, candidates: Sequence[str], matchers: str = "") -> str:
        """The candidate label set on most of `name`'s series (ties: the earlier candidate); "" if none."""
        series = self.series(name, matchers)
        counts = Counter(label for labels in series for label in candidates if labels.get(label))
        if not counts:
            return ""
        return max(candidates, key=lambda label: (counts.get(label, 0), -candidates.index(label)))

    def has_label(self, name: str, label: str, matchers: str = "") -> bool:
        return any(labels.get(label) for labels in self.series(name, matchers))

    def values(self, name: str, label: str, matchers: str = "") -> set[str]:
        return {labels[label] for labels in self.series(name, matchers) if labels.get(label)}


@dataclass(frozen=True, slots=True)
class Found:
    """What discovery says about one family: the label naming its services and those services."""

    label: str
    services: frozenset[str]


def found_family(
    family: RequestFamily | Resource, catalog: Catalog, forced_label: str, wanted: Sequence[str] = ()
) -> Found | None:
    """The family's service label and services, when it has series (of the `wanted` services, if any)."""
    name = family.requests if isinstance(family, RequestFamily) else family.metric
    if not catalog.has(name, family.matchers):
        return None
    # `service_label` overrides the guess for application series only; exporters' own labels are fixed.
    candidates = (forced_label,) if forced_label and family.service_labels == APP_LABELS else family.service_labels
    label = catalog.label_for(name, candidates, family.matchers)
    if not label:
        return None
    services = catalog.values(name, label, family.matchers)
    if wanted:  # discovery matched any label; a call *to* a wanted service is not reported *by* it
        services &= set(wanted)
    return Found(label, frozenset(services)) if services else None


def family_queries(
    family: RequestFamily,
    found: Found,
    catalog: Catalog,
    t: Timing,
    *,
    services: Sequence[str],
    quantiles: Sequence[float],
    extra: str,
    group: str,
) -> list[PlannedQuery]:
    """Request rate, failure ratio and latency quantiles per service (and per peer for edge families)."""
    by_labels = [found.label, *([family.peer] if family.peer else [])]
    if catalog.has_label(family.requests, "namespace", family.matchers):
        by_labels.append("namespace")
    by = ", ".join(by_labels)
    scope = matcher(found.label, services) if services else ""
    w = duration(t.rate_window_s)
    requests = f"sum by ({by}) (rate({selector(family.requests, family.matchers, scope, extra)}[{w}]))"
    out = [PlannedQuery(f"{family.prefix}_requests_per_second", requests, found.label, group)]
    failed_selector = ""
    if family.failed:
        failed_selector = selector(family.failed, family.matchers, scope, extra)
    else:
        for label, regex in family.errors:
            if catalog.has_label(family.requests, label, family.matchers):
                failed_selector = selector(family.requests, family.matchers, f"{label}=~{quote(regex)}", scope, extra)
                break
    if failed_selector:
        # A failure series exists only once something failed: `or ... * 0` keeps the ratio at 0 before that.
        failed = f"sum by ({by}) (rate({failed_selector}[{w}]))"
        expr = f"({failed} or {requests} * 0) / {requests}"
        out.append(PlannedQuery(f"{family.prefix}_error_ratio", expr, found.label, group))
    if family.histogram and catalog.has(f"{family.histogram}_bucket"):
        buckets = selector(f"{family.histogram}_bucket", family.matchers, scope, extra)
        for q in quantiles:
            expr = f"histogram_quantile({q:g}, sum by ({by}, le) (rate({buckets}[{w}])))"
            if family.scale != 1.0:
                expr = f"{expr} * {family.scale:g}"
            name = f"{family.prefix}_request_duration_seconds_{percentile(q)}"
            out.append(PlannedQuery(name, expr, found.label, group))
    return out


def percentile(q: float) -> str:
    """0.95 -> p95, 0.5 -> p50, 0.999 -> p999."""
    return "p" + f"{q * 100:.10g}".replace(".", "")


def resource_queries(
    resource: Resource, found: Found, t: Timing, *, services: Sequence[str], extra: str
) -> PlannedQuery:
    scope = matcher(found.label, services) if services else ""
    by = ", ".join(resource.by)
    sel = selector(resource.metric, resource.matchers, scope, extra)
    if resource.denominator:
        w = duration(t.rate_window_s)
        below = selector(resource.denominator, resource.matchers, scope, extra)
        expr = f"sum by ({by}) (rate({sel}[{w}])) / sum by ({by}) (rate({below}[{w}]))"
    elif resource.counter:
        expr = f"sum by ({by}) (rate({sel}[{duration(t.rate_window_s)}]))"
    else:
        expr = f"max by ({by}) (avg_over_time({sel}[{duration(t.gauge_window_s)}]))"
    return PlannedQuery(resource.name, expr, found.label, "resources")


def extra_queries(
    names: Iterable[str], scope_label: str, t: Timing, *, services: Sequence[str], extra: str
) -> list[PlannedQuery]:
    """Other series of the services: counters (`_total`) as per-second rates, gauges averaged per step."""
    scope = matcher(scope_label, services) if services else f'{scope_label}!=""'
    out = []
    for name in names:
        sel = selector(name, scope, extra)
        if name.endswith("_total"):
            expr = f"rate({sel}[{duration(t.rate_window_s)}])"
            out.append(PlannedQuery(f"{name.removesuffix('_total')}_per_second", expr, scope_label, "extra"))
        else:
            expr = f"avg_over_time({sel}[{duration(t.gauge_window_s)}])"
            out.append(PlannedQuery(name, expr, scope_label, "extra"))
    return out
