"""Prometheus' HTTP API as a source: Prometheus 2.x/3.x and what speaks the same API (VictoriaMetrics,
Mimir and Cortex under `path_prefix: /prometheus`, Thanos Query; a tenant header goes in `headers`).

Discovery (`prometheus_discovery.py`: `/api/v1/label/__name__/values`, `/api/v1/series`) finds which known
families have series in the window (RED histograms and counters, cAdvisor and kube-state-metrics container
series, Istio, Linkerd and service-graph edges; `promql_families.py`), which label names their services,
and the services' other series; then `POST /api/v1/query_range` runs one query per output family
(`promql.py`) plus the configured `queries`, with a step that keeps each series under 1,000 points.

Each answer goes through the Prometheus reader (`ingest.prometheus.add_result`): one `metrics` row per
sample, named by its query (`http_server_request_duration_seconds_p95`, `container_cpu_usage_cores`, ...),
`service` from the label its family names services with, the other labels as JSON. A failed query is an
error line in the report; the source fails only when nothing at all could be read.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from incidentlens.errors import FormatError, SourceError
from incidentlens.ingest.prometheus import add_result, sample_time_ns, service_from_labels
from incidentlens.ingest.sink import RowSink
from incidentlens.sources.budget import RowBudget
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import HttpClient, redact_url
from incidentlens.sources.prometheus_discovery import Discovery, note_warnings
from incidentlens.sources.prometheus_options import PrometheusOptions, parse_options
from incidentlens.sources.promql import PlannedQuery, Timing, duration, timing
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport


class PrometheusSource:
    kind = "prometheus"
    signals = ("metrics",)
    live = True

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
            discovery = Discovery(http, self._api(), o, query, report, f"{self.kind} source {self.name!r}")
            progress(f"{self.name}: discovering series")
            try:
                planned += discovery.plan(t)
            except SourceError as exc:
                if not planned:
                    raise
                report.errors.append(f"discovery failed, only the configured queries were run: {exc}")
            groups = ", ".join(f"{n} {g}" for g, n in Counter(q.group for q in planned).items())
            report.notes.append(f"{len(planned)} queries: {groups}" if planned else "nothing to query")
            self._run(http, planned, t, sink, budget, report, progress)
        budget.close("metric samples")
        report.services.sort()
        report.seconds = time.perf_counter() - started
        if report.row_total == 0 and report.errors:
            more = f" (and {len(report.errors) - 1} more errors)" if len(report.errors) > 1 else ""
            raise SourceError(f"{self.kind} source {self.name!r}: nothing could be read: {report.errors[0]}{more}")
        return report

    def _api(self) -> str:
        return f"{self.options.path_prefix}/api/v1"

    def _user_query(self, name: str, expr: str, t: Timing) -> PlannedQuery:
        expr = expr.replace("$__rate_interval", duration(t.rate_window_s)).replace("$__interval", duration(t.step_s))
        return PlannedQuery(name, expr, group="user")

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
                answer = http.post_form(f"{self._api()}/query_range", form)
                self._add(answer, q, sink, budget, report)
            except (SourceError, FormatError) as exc:
                report.errors.append(f"query {q.name}: {exc}")
        if skipped:
            report.truncated.append(f"{skipped} of {len(planned)} queries not run: the row cap was reached")

    def _add(self, answer: Any, q: PlannedQuery, sink: RowSink, budget: RowBudget, report: SourceReport) -> None:
        if not isinstance(answer, dict):
            raise FormatError(f"{self.name}:{q.name}", "not a query response object")
        note_warnings(answer, report)
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
