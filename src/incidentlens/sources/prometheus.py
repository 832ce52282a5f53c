"""Prometheus' HTTP API as a source: Prometheus 2.x/3.x and what speaks the same API (VictoriaMetrics,
Mimir and Cortex under `path_prefix: /prometheus`, Thanos Query; a tenant header goes in `headers`).

1. `POST /api/v1/series` (match[], start, end, limit) finds which known families exist in the window (RED
   histograms and counters, cAdvisor and kube-state-metrics container series, Istio, Linkerd and service
   graph edges; see `promql_families.py`) and which label names the services, narrowed to `query.services`.
2. `GET /api/v1/label/__name__/values` (match[] on those services) finds their other series: up to
   `max_extra_metrics` of them are read too, counters as rates, gauges as step averages.
3. `POST /api/v1/query_range` runs one query per output family (`promql.py`) plus the configured `queries`.

Each answer goes through the Prometheus reader (`ingest.prometheus.add_result`): one `metrics` row per
sample, named by its query (`http_server_request_duration_seconds_p95`, `container_cpu_usage_cores`, ...),
`service` from the label its family names services with, the other labels as JSON. A failed query is an
error line in the report; the source fails only when nothing at all could be read.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from incidentlens.analyze.metrics import RESOURCE_KINDS, MetricKind, metric_kind
from incidentlens.errors import FormatError, SourceError
from incidentlens.ingest.prometheus import add_result, sample_time_ns, service_from_labels
from incidentlens.ingest.sink import RowSink
from incidentlens.sources.budget import RowBudget
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import HttpClient, redact_url
from incidentlens.sources.prometheus_options import PrometheusOptions, parse_options
from incidentlens.sources.promql import (
    Catalog,
    Found,
    PlannedQuery,
    Timing,
    discovery_selectors,
    duration,
    extra_queries,
    family_queries,
    found_family,
    matcher,
    resource_queries,
    selector,
    timing,
)
from incidentlens.sources.promql_families import (
    APP_LABELS,
    EDGE_FAMILIES,
    REQUEST_FAMILIES,
    RESOURCES,
    RequestFamily,
    Resource,
    is_extra_candidate,
    known_names,
)
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport

MAX_WARNINGS = 5  # distinct server warnings noted in the report


class PrometheusSource:
    kind = "prometheus"
    signals = ("metrics",)

    def __init__(self, config: SourceConfig) -> None:
        self.options: PrometheusOptions = parse_options(config)
        if not config.url:
            raise config.option_error("'url' is required (for example http://prometheus:9090)")
        self.config = config
        self.name = config.name

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        started = time.perf_counter()
        o = self.options
        report = SourceReport(self.name, self.kind, redact_url(self.config.url + o.path_prefix))
        t = timing(query.window, min_step_s=o.min_step_s, scrape_s=o.scrape_s, rate_window_s=o.rate_window_s)
        report.notes.append(f"step {t.step_s}s ({t.points} points per series), rate window {duration(t.rate_window_s)}")
        budget = RowBudget(self.config.max_rows, report)
        with HttpClient(self.config, report) as http:
            planned = [self._user_query(q.name, q.expr, t) for q in o.queries]
            try:
                planned += self._discover(http, query, t, report, progress)
            except SourceError as exc:
                if not planned:
                    raise
                report.errors.append(f"discovery failed, only the configured queries were run: {exc}")
            self._run(http, planned, t, sink, budget, report, progress)
        budget.close("metric samples")
        report.services.sort()
        report.seconds = time.perf_counter() - started
        if report.row_total == 0 and report.errors:
            more = f" (and {len(report.errors) - 1} more errors)" if len(report.errors) > 1 else ""
            raise SourceError(f"{self.kind} source {self.name!r}: nothing could be read: {report.errors[0]}{more}")
        return report

    def _api(self, path: str) -> str:
        return f"{self.options.path_prefix}/api/v1/{path}"

    def _user_query(self, name: str, expr: str, t: Timing) -> PlannedQuery:
        expr = expr.replace("$__rate_interval", duration(t.rate_window_s)).replace("$__interval", duration(t.step_s))
        return PlannedQuery(name, expr, group="user")

    def _discover(
        self, http: HttpClient, query: SourceQuery, t: Timing, report: SourceReport, progress: SourceProgress
    ) -> list[PlannedQuery]:
        """The queries for every known family present in the window, then for the services' other series."""
        o = self.options
        progress(f"{self.name}: discovering series")
        families = (*REQUEST_FAMILIES, *EDGE_FAMILIES)
        specs: tuple[RequestFamily | Resource, ...] = (*families, *RESOURCES)
        markers = [m for f in specs for m in f.markers]
        labels = {label for f in specs for label in f.service_labels} | (
            {o.service_label} if o.service_label else set()
        )
        selectors = discovery_selectors(markers, labels, query.services, o.matchers)
        # httpx repeats a key for a list value; `limit` is honoured by Prometheus >= 2.51 and VictoriaMetrics.
        form = {"match[]": selectors, **_range(query), "limit": str(o.max_series + 1)}
        answer = http.post_form(self._api("series"), form)
        series = answer.get("data") if isinstance(answer, dict) and answer.get("status") == "success" else None
        if not isinstance(series, list):
            raise SourceError(f"{self.kind} source {self.name!r}: /api/v1/series answered without a list of series")
        truncated = len(series) > o.max_series
        if truncated:
            report.truncated.append(
                f"series discovery capped at {o.max_series} series (max_series); only their services were queried"
            )
            series = series[: o.max_series]
        catalog = Catalog(s for s in series if isinstance(s, dict))
        planned: list[PlannedQuery] = []
        found_notes: list[str] = []
        app_labels: list[str] = []
        services: set[str] = set()

        def scope(found: Found) -> Sequence[str]:
            return query.services or (sorted(found.services) if truncated else ())

        for family in families:
            found = found_family(family, catalog, o.service_label, query.services)
            if found is None:
                continue
            group = "edges" if family in EDGE_FAMILIES else "requests"
            planned += family_queries(
                family,
                found,
                catalog,
                t,
                services=scope(found),
                quantiles=o.quantiles,
                extra=o.matchers,
                group=group,
            )
            services |= found.services
            if family.service_labels == APP_LABELS:
                app_labels.append(found.label)
            found_notes.append(f"{family.key} by {found.label} ({len(found.services)} services)")
        for resource in RESOURCES:
            found = found_family(resource, catalog, o.service_label, query.services)
            if found is not None:
                planned.append(resource_queries(resource, found, t, services=scope(found), extra=o.matchers))
                services |= found.services
                found_notes.append(f"{resource.metric} ({len(found.services)} containers)")
        report.notes.append("found: " + ("; ".join(found_notes) or "no known metric family in the window"))
        report.services.extend(sorted(services - set(report.services)))
        if o.max_extra_metrics:
            label = o.service_label or (max(set(app_labels), key=app_labels.count) if app_labels else "job")
            narrowed = list(query.services) or sorted(services)
            planned += self._extras(http, label, narrowed, {q.name for q in planned}, t, query, report)
        return planned

    def _extras(
        self,
        http: HttpClient,
        label: str,
        services: Sequence[str],
        planned: set[str],
        t: Timing,
        query: SourceQuery,
        report: SourceReport,
    ) -> list[PlannedQuery]:
        """Other series names of the services, resource-like ones first (the analysis weighs those most)."""
        scope = matcher(label, services) if services else f'{label}!=""'
        params = {"match[]": selector("", scope, self.options.matchers), **_range(query)}
        try:
            answer = http.get_json(self._api("label/__name__/values"), params)
        except SourceError as exc:
            report.errors.append(f"extra series names: {exc}")
            return []
        names = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(names, list):
            report.errors.append("extra series names: /api/v1/label/__name__/values answered without a list")
            return []
        known = known_names()
        wanted = [str(n) for n in names if is_extra_candidate(str(n), known) and str(n) not in planned]
        wanted.sort(key=lambda n: (_priority(n), n))
        cap = self.options.max_extra_metrics
        if len(wanted) > cap:
            report.truncated.append(f"extra metrics capped at {cap} of {len(wanted)} series names (max_extra_metrics)")
        return extra_queries(wanted[:cap], label, t, services=services, extra=self.options.matchers)

    def _run(
        self,
        http: HttpClient,
        planned: list[PlannedQuery],
        t: Timing,
        sink: RowSink,
        budget: RowBudget,
        report: SourceReport,
        progress: SourceProgress,
    ) -> None:
        skipped = 0
        for index, q in enumerate(planned):
            if budget.exhausted:
                skipped += 1
                continue
            progress(f"{self.name}: {q.name} ({index + 1}/{len(planned)})")
            form = {
                "query": q.expr,
                "start": str(t.start_s),
                "end": str(t.end_s),
                "step": str(t.step_s),
                "timeout": f"{max(1, int(self.config.timeout_seconds))}s",
            }
            try:
                answer = http.post_form(self._api("query_range"), form)
                self._add(answer, q, sink, budget, report)
            except (SourceError, FormatError) as exc:
                report.errors.append(f"query {q.name}: {exc}")
        if skipped:
            report.truncated.append(f"{skipped} of {len(planned)} queries not run: the row cap was reached")

    def _add(self, answer: Any, q: PlannedQuery, sink: RowSink, budget: RowBudget, report: SourceReport) -> None:
        if not isinstance(answer, dict):
            raise FormatError(f"{self.name}:{q.name}", "not a query response object")
        for warning in answer.get("warnings") or ():
            note = f"server warning: {warning}"
            if note not in report.notes and sum(n.startswith("server warning") for n in report.notes) < MAX_WARNINGS:
                report.notes.append(note)
        data = answer.get("data")
        result: list[Any] = []
        if isinstance(data, dict) and isinstance(data.get("result"), list):
            data["result"] = result = _trim(data["result"], budget)
        service_of = _service_of(q.service_label)
        problems = sink.problem_count
        added = add_result(answer, f"{self.name}:{q.name}", sink, service_of=service_of, name=q.name)
        report.add_rows("metrics", added)
        if sink.problem_count > problems:
            report.errors.append(f"query {q.name}: {sink.problem_count - problems} unusable samples skipped")
        _note_coverage(result, service_of, report)


def _note_coverage(result: list[Any], service_of: Callable[[Mapping[str, str]], str], report: SourceReport) -> None:
    """The time range and the services the answer covered (bad series were reported by the reader)."""
    seen = set(report.services)
    for series in result:
        if not isinstance(series, dict) or not isinstance(series.get("metric", {}), dict):
            continue
        values = series.get("values")
        with contextlib.suppress(ValueError, TypeError, IndexError):
            if isinstance(values, list) and values:
                report.saw_time(sample_time_ns(values[0][0]))
                report.saw_time(sample_time_ns(values[-1][0]))
        service = service_of({str(k): str(v) for k, v in (series.get("metric") or {}).items()})
        if service and service not in seen:
            seen.add(service)
            report.services.append(service)


def _range(query: SourceQuery) -> dict[str, str]:
    return {"start": f"{query.window.start_ns / 1e9:.3f}", "end": f"{query.window.end_ns / 1e9:.3f}"}


def _service_of(label: str) -> Callable[[Mapping[str, str]], str]:
    if not label:
        return service_from_labels
    return lambda labels: labels.get(label) or service_from_labels(labels)


def _trim(result: list[Any], budget: RowBudget) -> list[Any]:
    """The series that fit the row budget: whole series while they fit, then the first samples of the next."""
    kept: list[Any] = []
    for series in result:
        if not isinstance(series, dict):
            kept.append(series)  # the reader reports it
            continue
        values: list[Any] = v if isinstance(v := series.get("values"), list) else []
        histograms: list[Any] = h if isinstance(h := series.get("histograms"), list) else []
        wanted = len(values) + 2 * len(histograms)  # a native histogram sample is a _count and a _sum row
        allowed = budget.take(wanted)
        if allowed == wanted:
            kept.append(series)
        elif allowed:
            kept.append({"metric": series.get("metric"), "values": values[:allowed]})
    return kept


def _priority(name: str) -> int:
    kind = metric_kind(name)
    return 0 if kind in RESOURCE_KINDS else 2 if kind is MetricKind.OTHER else 1
