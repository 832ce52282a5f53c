"""Grafana Tempo as a trace source: TraceQL searches find trace ids, then each trace is fetched whole.

Endpoints (HTTP API of Tempo 2.x; `api: v2` uses the v2 trace and tag endpoints of newer releases):
- `GET /api/search?q=<TraceQL>&start=&end=` (Unix seconds) `&limit=&spss=1` -> `{"traces": [{"traceID",
  "rootServiceName", "startTimeUnixNano", "durationMs", ...}]}`. No paging: an answer of `limit` traces
  means more exist, so the range is sliced (`tracesearch.sliced_search`).
- `GET /api/traces/<id>` -> `{"batches": [...]}` (OTLP resource spans, base64 or hex ids), or with `api: v2`
  `GET /api/v2/traces/<id>` -> `{"trace": {"resourceSpans": [...]}, "status": "COMPLETE"|"PARTIAL"}`. JSON is
  asked for (`Accept: application/json`); both shapes go through `ingest/otlp_traces.add_resource_spans`.
- Services: `GET /api/search/tag/service.name/values` -> `{"tagValues": [names]}`, or with `api: v2`
  `GET /api/v2/search/tag/resource.service.name/values` -> `{"tagValues": [{"type", "value"}]}`.

What is fetched: every trace with an error span in the incident (`{ status = error }`, at most
`error_traces`), and per service a sample of `sample_traces` traces from the normal period
(`{ resource.service.name = "x" }`) and as many non-error ones from the incident, so latency shifts show.
Each span becomes one `spans` row; `source` is the trace's (redacted) URL and the span's index.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from incidentlens.errors import SourceError
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import HttpClient, redact_url
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport
from incidentlens.sources.traceload import TraceLoad, trace_key
from incidentlens.sources.tracesearch import (
    CAP_REACHED,
    NS_PER_SECOND,
    SAMPLE_SLICES,
    choose_services,
    even_slices,
    service_names,
    share,
    sliced_search,
    trace_options,
)

FETCH_WORKERS = 4
FETCH_CHUNK = 32  # traces fetched between two looks at the row budget
_TRACE_PATH = {"v1": "/api/traces/", "v2": "/api/v2/traces/"}
_SERVICES_PATH = {"v1": "/api/search/tag/service.name/values", "v2": "/api/v2/search/tag/resource.service.name/values"}


def _string(value: str) -> str:
    """A TraceQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def error_query(services: tuple[str, ...] | list[str]) -> str:
    """Spans with an error status, in any of `services` when given."""
    if not services:
        return "{ status = error }"
    either = " || ".join(f"resource.service.name = {_string(s)}" for s in services)
    return f"{{ status = error && ({either}) }}"


def _seconds(period: TimeRange) -> dict[str, int]:
    return {"start": period.start_ns // NS_PER_SECOND, "end": -(-period.end_ns // NS_PER_SECOND)}


class TempoSource:
    kind = "tempo"
    signals = ("spans",)
    live = True

    def __init__(self, config: SourceConfig) -> None:
        self.options = trace_options(config, apis=("v1", "v2"))
        if not config.url:
            raise config.option_error("'url' is required (for example http://tempo:3200)")
        self.config = config
        self.name = config.name

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        started = time.perf_counter()
        report = SourceReport(self.name, self.kind, redact_url(self.config.url))
        load = TraceLoad(self.kind, self.name, sink, report, self.config.max_rows)
        try:
            with HttpClient(self.config, report) as http:
                run = _Run(self, http, load, query, progress)
                run.find()
                run.fetch()
        finally:
            report.seconds = time.perf_counter() - started
        load.finish()
        return report


class _Run:
    """One load: search for trace ids (errors first, then samples), then fetch them in that order."""

    def __init__(
        self, source: TempoSource, http: HttpClient, load: TraceLoad, query: SourceQuery, progress: SourceProgress
    ) -> None:
        self.source, self.http, self.load, self.query, self.progress = source, http, load, query, progress
        self.options = source.options
        self.name = source.name
        self.wanted: dict[str, None] = {}  # trace ids to fetch, in order

    def find(self) -> None:
        self.progress(f"{self.name}: listing services")
        services = choose_services(self.query, self.options, self._discover, self.load.report)
        self._find_errors()
        per_slice = share(self.options.sample_traces, SAMPLE_SLICES)
        for i, service in enumerate(services if per_slice else []):
            self.progress(f"{self.name}: sampling traces of {service} ({i + 1}/{len(services)})")
            name = f"resource.service.name = {_string(service)}"
            for part in even_slices(self.query.normal):
                self._add(self._search(f"{{ {name} }}", part, per_slice)[1])
            for part in even_slices(self.query.incident):
                self._add(self._search(f"{{ {name} && status != error }}", part, per_slice)[1])

    def _discover(self) -> list[str]:
        path = _SERVICES_PATH[self.options.api]
        try:
            answer = self.http.get_json(path, _seconds(self.query.window))
        except SourceError as exc:
            self.load.fail(f"{exc} (no services: only error traces are searched)")
            return []
        return service_names(answer.get("tagValues") if isinstance(answer, dict) else None)

    def _find_errors(self) -> None:
        cap = self.options.error_traces
        if not cap:
            return
        self.progress(f"{self.name}: searching error traces")
        query = error_query(self.query.services or self.options.services)
        found = over = 0

        def one(part: TimeRange) -> int:
            nonlocal found, over
            answered, ids = self._search(query, part, self.options.search_limit)
            for key in ids:
                if key in self.wanted:
                    continue
                if found >= cap:
                    over += 1
                    continue
                self.wanted[key] = None
                found += 1
            return answered

        limit = self.options.search_limit
        missing = sliced_search(
            self.query.incident, one, limit=limit, min_width_ns=NS_PER_SECOND, enough=lambda: found >= cap
        )
        if over or missing == CAP_REACHED:
            self.load.report.truncated.append(f"error traces capped at {cap} (error_traces); more exist")
        elif missing:
            self.load.report.truncated.append(f"error traces: {found} found, some may be missing: {missing}")
        self.load.report.notes.append(f"{found} error traces in the incident")

    def _search(self, q: str, part: TimeRange, limit: int) -> tuple[int, list[str]]:
        """(traces answered, their ids) of one TraceQL search; a failure is listed and answers nothing."""
        try:
            answer = self.http.get_json("/api/search", {"q": q, **_seconds(part), "limit": limit, "spss": 1})
        except SourceError as exc:
            self.load.fail(str(exc))
            return 0, []
        traces = answer.get("traces", []) if isinstance(answer, dict) else None
        if not isinstance(traces, list):  # an empty answer omits "traces" (proto3 JSON)
            self.load.fail(f"tempo source {self.name!r}: /api/search answered without a traces list")
            return 0, []
        ids = [trace_key(t.get("traceID")) for t in traces if isinstance(t, dict)]
        return len(traces), [key for key in ids if key]

    def _add(self, ids: list[str]) -> None:
        for key in ids:
            self.wanted.setdefault(key, None)

    def fetch(self) -> None:
        keys = list(self.wanted)
        with ThreadPoolExecutor(FETCH_WORKERS) as pool:
            for start in range(0, len(keys), FETCH_CHUNK):
                if self.load.full:
                    self.load.not_loaded += len(keys) - start
                    return
                chunk = keys[start : start + FETCH_CHUNK]
                self.progress(f"{self.name}: fetching traces ({start + len(chunk)}/{len(keys)})")
                for key, answer in zip(chunk, pool.map(self._get, chunk), strict=True):
                    self._keep(key, answer)

    def _get(self, key: str) -> Any:
        """One trace's JSON, or the SourceError that fetching it raised (runs in a worker thread)."""
        try:
            return self.http.get_json(_TRACE_PATH[self.options.api] + key, _seconds(self.query.window))
        except SourceError as exc:
            return exc

    def _keep(self, key: str, answer: Any) -> None:
        if isinstance(answer, SourceError):
            self.load.fail(str(answer))
            return
        address = f"{redact_url(self.source.config.url)}{_TRACE_PATH[self.options.api]}{key}"
        resources = _resource_spans(answer)
        if resources is None:
            self.load.fail(f"{address}: the answer holds no trace (no batches or trace.resourceSpans)")
            return
        if isinstance(answer, dict) and answer.get("status") == "PARTIAL":
            self.load.fail(f"{address}: Tempo returned part of the trace ({answer.get('message') or 'no reason'})")
        self.load.add_otlp(key, resources, address)


def _resource_spans(answer: Any) -> list[Any] | None:
    """The resource spans of `{"batches": [...]}` (legacy) or `{"trace": {"resourceSpans": [...]}}` (v2)."""
    if not isinstance(answer, dict):
        return None
    trace = answer.get("trace", answer)
    if not isinstance(trace, dict):
        return None
    for key in ("batches", "resourceSpans"):
        if isinstance(trace.get(key), list):
            return list(trace[key])
    return None
