"""Jaeger as a trace source, through the query service's HTTP API (Jaeger 1.x and 2.x).

API v1 (`api: v1`, the default: what the Jaeger UI uses, honoured by every version):
- `GET /api/services` -> `{"data": [names], "total", "limit", "offset", "errors"}`
- `GET /api/traces?service=&start=&end=` (Unix microseconds) `&limit=&tags={"error":"true"}` ->
  `{"data": [traces], ..., "errors": [{"code", "msg"}]}`: whole traces in Jaeger JSON, read by
  `ingest/jaeger.add_trace`. Errors answer `{"data": null, "errors": [{"code": 400, "msg": ...}]}`.
API v3 (`api: v3`; `api: auto` asks `/api/v3/services` and falls back to v1):
- `GET /api/v3/services` -> `{"services": [names]}`
- `GET /api/v3/traces?query.service_name=&query.start_time_min=&query.start_time_max=` (RFC 3339)
  `&query.num_traces=&query.attributes={"error":"true"}` -> `{"result": {"resourceSpans": [...]}}` (every
  trace merged into one list, regrouped here per trace id; read by `ingest/otlp_traces`), or newline-
  separated `{"result": ...}` chunks from older gateways; 404 `{"error": {"message": "No traces found"}}`.

Searches answer whole traces, so traces are never fetched by id. Every search names one service. What is
fetched: the error traces of the incident (`error=true`, at most `error_traces`, shared evenly between
services), and per service a sample of `sample_traces` traces from the normal period and as many from
the incident. Each span becomes one `spans` row; `source` is the trace's (redacted) URL and span index.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from incidentlens.errors import SourceError
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import HttpClient, redact_url
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport
from incidentlens.sources.traceload import TraceLoad, split_by_trace, trace_key
from incidentlens.sources.tracesearch import (
    CAP_REACHED,
    SAMPLE_SLICES,
    choose_services,
    even_slices,
    rfc3339,
    service_names,
    share,
    sliced_search,
    trace_options,
)

ERROR_TAGS = '{"error":"true"}'
MIN_SLICE_NS = 1_000_000  # 1 ms: v1 times are microseconds
# (traces answered, each found trace's id and the call that loads it, True when it was new)
Found = tuple[int, list[tuple[str, Callable[[], bool]]]]


class JaegerSource:
    kind = "jaeger"
    signals = ("spans",)
    live = True

    def __init__(self, config: SourceConfig) -> None:
        self.options = trace_options(config, apis=("v1", "v3", "auto"))
        if not config.url:
            raise config.option_error("'url' is required: the query service (for example http://jaeger:16686)")
        self.config = config
        self.name = config.name

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        started = time.perf_counter()
        report = SourceReport(self.name, self.kind, redact_url(self.config.url))
        load = TraceLoad(self.kind, self.name, sink, report, self.config.max_rows)
        try:
            with HttpClient(self.config, report) as http:
                _Run(self, http, load, query, progress).run()
        finally:
            report.seconds = time.perf_counter() - started
        load.finish()
        return report


class _Run:
    def __init__(
        self, source: JaegerSource, http: HttpClient, load: TraceLoad, query: SourceQuery, progress: SourceProgress
    ) -> None:
        self.source, self.http, self.load, self.query, self.progress = source, http, load, query, progress
        self.options = source.options
        self.name = source.name
        self.base = redact_url(source.config.url)
        self.api = self.options.api
        self.listed: list[str] | None = None  # services answered while detecting the API

    def run(self) -> None:
        self.progress(f"{self.name}: listing services")
        if self.api == "auto":
            self.api = self._detect()
            self.load.report.notes.append(f"Jaeger query API {self.api}")
        services = choose_services(self.query, self.options, self._discover, self.load.report)
        self._find_errors(services)
        per_slice = share(self.options.sample_traces, SAMPLE_SLICES)
        for i, service in enumerate(services if per_slice else []):
            if self.load.full:
                break
            self.progress(f"{self.name}: sampling traces of {service} ({i + 1}/{len(services)})")
            for part in even_slices(self.query.normal) + even_slices(self.query.incident):
                for _, add in self._search(service, part, per_slice, errors=False)[1]:
                    add()

    def _detect(self) -> str:
        try:
            answer = self.http.get_json("/api/v3/services")
        except SourceError:
            return "v1"
        if isinstance(answer, dict) and isinstance(answer.get("services"), list):
            self.listed = service_names(answer["services"])
            return "v3"
        return "v1"

    def _discover(self) -> list[str]:
        """Every service Jaeger knows; a failure here stops the load (every search needs a service)."""
        if self.listed is not None:
            return self.listed
        path, key = ("/api/v3/services", "services") if self.api == "v3" else ("/api/services", "data")
        answer = self.http.get_json(path)
        return service_names(answer.get(key) if isinstance(answer, dict) else None)

    def _find_errors(self, services: list[str]) -> None:
        """Error traces of the incident, an even share of `error_traces` per service; services that had
        more than their share get what the others left in a second round."""
        cap = self.options.error_traces
        total, todo = 0, list(services)
        cut: list[str] = []
        gaps: list[str] = []
        for second in (False, True):
            cut = []
            for i, service in enumerate(todo):
                if total >= cap or self.load.full:
                    break
                want = cap - total if second else share(cap - total, len(todo) - i)
                self.progress(f"{self.name}: searching error traces of {service} ({i + 1}/{len(todo)})")
                added, more, missing = self._errors_of(service, want)
                total += added
                if more:
                    cut.append(service)
                elif missing:
                    gaps.append(f"{service}: {missing}")
            if not cut or total >= cap:
                break
            todo = cut
        if cut and total >= cap:
            self.load.report.truncated.append(f"error traces capped at {cap} (error_traces); more exist")
        if gaps:
            self.load.report.truncated.append(f"error traces: some may be missing ({'; '.join(gaps[:3])})")
        if cap and services:
            self.load.report.notes.append(f"{total} error traces in the incident")

    def _errors_of(self, service: str, want: int) -> tuple[int, bool, str | None]:
        """(new error traces loaded, whether more exist beyond `want`, why some may be missing)."""
        added = over = 0

        def one(part: TimeRange) -> int:
            nonlocal added, over
            answered, found = self._search(service, part, self.options.search_limit, errors=True)
            for key, add in found:
                if key in self.load.seen:
                    continue
                if added >= want:
                    over += 1
                elif add():
                    added += 1
            return answered

        missing = sliced_search(
            self.query.incident,
            one,
            limit=self.options.search_limit,
            min_width_ns=MIN_SLICE_NS,
            enough=lambda: added >= want or self.load.full,
        )
        more = bool(over) or missing == CAP_REACHED
        return added, more, None if more else missing

    def _search(self, service: str, part: TimeRange, limit: int, *, errors: bool) -> Found:
        """One search; a failed request is listed in the report and finds nothing."""
        try:
            return (
                self._search_v3(service, part, limit, errors)
                if self.api == "v3"
                else self._search_v1(service, part, limit, errors)
            )
        except SourceError as exc:
            self.load.fail(str(exc))
            return 0, []

    def _search_v1(self, service: str, part: TimeRange, limit: int, errors: bool) -> Found:
        params: dict[str, Any] = {
            "service": service,
            "start": part.start_ns // 1_000,
            "end": part.end_ns // 1_000,
            "limit": limit,
        }
        if errors:
            params["tags"] = ERROR_TAGS
        answer = self.http.get_json("/api/traces", params)
        if not isinstance(answer, dict):
            raise self._error(f"/api/traces?service={service} answered with no envelope")
        for error in answer.get("errors") or []:  # partial answers list what failed beside the data
            text = error.get("msg", error) if isinstance(error, dict) else error
            self.load.fail(f"{self._where('/api/traces', service)}: Jaeger reported: {str(text)[:200]}")
        data = answer.get("data") or []
        if not isinstance(data, list):
            raise self._error(f"/api/traces?service={service}: 'data' is not a list of traces")
        found: list[tuple[str, Callable[[], bool]]] = []
        for trace in data:
            key = trace_key(trace.get("traceID")) if isinstance(trace, dict) else ""
            found.append((key, partial(self.load.add_jaeger, trace, f"{self.base}/api/traces/{key}")))
        return len(data), found

    def _search_v3(self, service: str, part: TimeRange, limit: int, errors: bool) -> Found:
        params: dict[str, Any] = {
            "query.service_name": service,
            "query.start_time_min": rfc3339(part.start_ns),
            "query.start_time_max": rfc3339(part.end_ns),
            "query.num_traces": limit,
        }
        if errors:
            params["query.attributes"] = ERROR_TAGS
        try:
            response = self.http.request("GET", "/api/v3/traces", params=params)
        except SourceError as exc:
            if exc.status == 404 and "No traces found" in str(exc):  # api/v3 answers 'none' this way
                return 0, []
            raise
        chunks = _json_chunks(response.content)
        if chunks is None:
            raise self._error(f"/api/v3/traces?service={service} answered with invalid JSON")
        resources: list[Any] = []
        for chunk in chunks:
            error = chunk.get("error")
            if error is not None:
                message = error.get("message", error) if isinstance(error, dict) else error
                self.load.fail(f"{self._where('/api/v3/traces', service)}: Jaeger reported: {str(message)[:200]}")
            result = chunk.get("result")
            spans = result.get("resourceSpans") if isinstance(result, dict) else None
            resources += spans if isinstance(spans, list) else []
        traces = split_by_trace(resources)
        found: list[tuple[str, Callable[[], bool]]] = [
            (key, partial(self.load.add_otlp, key, part_spans, f"{self.base}/api/v3/traces/{key}"))
            for key, part_spans in traces.items()
        ]
        return len(traces), found

    def _where(self, path: str, service: str) -> str:
        return f"jaeger source {self.name!r}: {self.base}{path}?service={service}"

    def _error(self, reason: str) -> SourceError:
        return SourceError(f"jaeger source {self.name!r}: {self.base}{reason}")


def _json_chunks(content: bytes) -> list[dict[str, Any]] | None:
    """One JSON object, or newline-separated objects (older api/v3 gateways stream a search that way);
    None when the content is not JSON."""
    try:
        whole = orjson.loads(content)
        return [whole] if isinstance(whole, dict) else []
    except orjson.JSONDecodeError:
        pass
    try:
        values = [orjson.loads(line) for line in content.splitlines() if line.strip()]
    except orjson.JSONDecodeError:
        return None
    return [v for v in values if isinstance(v, dict)]
