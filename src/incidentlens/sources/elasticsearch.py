"""Elasticsearch and OpenSearch as a log source: ECS documents over `_search`, read by `ingest/jsonlogs.py`.

Opens a point in time (Elasticsearch >= 7.10: `POST /{index}/_pit?keep_alive=1m`; OpenSearch >= 2.4:
`POST /{index}/_search/point_in_time?keep_alive=1m`), then pages `POST /_search` with `pit`, a `range`
filter on `@timestamp` for the window, an optional `terms` filter on `service.name`, `sort` on the time
field plus a tiebreaker (Elasticsearch's implicit `_shard_doc` within a PIT, else `_id`) and
`search_after`; the PIT is closed at the end (`DELETE /_pit`, `DELETE /_search/point_in_time`). When the
PIT endpoint answers 400, 403, 404 or 405 (older versions, proxies, missing privilege) it pages
`POST /{index}/_search` without one. The window is read in the parts of `logwindow.py` (incident first);
`hits.total` of each part's first page gives the counts a truncation reports. Each hit's `_source` becomes
one `logs` row through the JSON-log mapping (`ingest.jsonlogs.add_json_log`: ECS `message`, `log.level`,
`service.name`, `trace.id`, `span.id`, `log.logger`, `error.stack_trace`, ... ; the rest are attributes).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from incidentlens.errors import SourceError
from incidentlens.ingest.common import parse_time_ns
from incidentlens.ingest.jsonlogs import add_json_log, flatten
from incidentlens.ingest.sink import RowSink
from incidentlens.sources.budget import RowBudget
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import HttpClient, redact_url
from incidentlens.sources.logwindow import WindowPart, cap_message, iso, window_parts
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport

DEFAULT_INDEX = "logs-*"
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000  # index.max_result_window's default; size alone counts against it
KEEP_ALIVE = "1m"
_OPTIONS = frozenset({"index", "page_size", "fields", "tiebreaker"})
# A field-mapping override puts the named field where the JSON-log mapping looks first for that role.
FIELD_ROLES: dict[str, str] = {
    "timestamp": "@timestamp",
    "message": "message",
    "level": "level",
    "service": "service.name",
    "trace_id": "trace_id",
    "span_id": "span_id",
    "logger": "logger",
    "stack_trace": "stack_trace",
}
_NO_PIT_STATUS = frozenset({400, 403, 404, 405})


class ElasticsearchSource:
    """Kinds `elasticsearch` and `opensearch`: the same search API, different point-in-time endpoints."""

    kinds = ("elasticsearch", "opensearch")  # one class; `kind` is the configured one
    signals = ("logs",)
    live = True

    def __init__(self, config: SourceConfig) -> None:
        config.check_options(_OPTIONS)
        if not config.url:
            raise config.option_error("'url' is required (for example https://elasticsearch:9200)")
        options = config.options
        index = options.get("index", DEFAULT_INDEX)
        if not isinstance(index, str) or not index.strip() or any(c in index for c in ' "\\/?#'):
            raise config.option_error("'index' must be an index, alias, data stream or pattern such as logs-*")
        page_size = options.get("page_size", DEFAULT_PAGE_SIZE)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise config.option_error(f"'page_size' must be a whole number of hits from 1 to {MAX_PAGE_SIZE}")
        fields = options.get("fields", {})
        if not isinstance(fields, Mapping) or not all(isinstance(v, str) and v for v in fields.values()):
            raise config.option_error("'fields' must map roles to field names, for example {service: app.name}")
        unknown = sorted(set(fields) - set(FIELD_ROLES))
        if unknown:
            raise config.option_error(
                f"'fields' has unknown role(s) {', '.join(unknown)} (roles: {', '.join(FIELD_ROLES)})"
            )
        tiebreaker = options.get("tiebreaker")
        if tiebreaker is not None and not (isinstance(tiebreaker, str) and tiebreaker):
            raise config.option_error("'tiebreaker' must be the name of a field with one value per document")
        self.config = config
        self.name = config.name
        self.kind = config.kind
        self.index = index.strip()
        self.page_size = page_size
        self.fields: dict[str, str] = dict(fields)
        self.time_field = self.fields.get("timestamp", "@timestamp")
        self.service_field = self.fields.get("service", "service.name")
        self.tiebreaker: str | None = tiebreaker

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        started = time.perf_counter()
        report = SourceReport(self.name, self.kind, f"{redact_url(self.config.url)}/{self.index}")
        with HttpClient(self.config, report) as http:
            run = _Run(self, http, sink, report, progress)
            try:
                run.read(query)
            finally:
                run.close_pit()
        report.seconds = time.perf_counter() - started
        return report


class _Run:
    """One load: the HTTP client, the point in time (if any), the row budget."""

    def __init__(
        self,
        source: ElasticsearchSource,
        http: HttpClient,
        sink: RowSink,
        report: SourceReport,
        progress: SourceProgress,
    ) -> None:
        self.source = source
        self.http = http
        self.sink = sink
        self.report = report
        self.progress = progress
        self.budget = RowBudget(source.config.max_rows, report)
        self.opensearch = source.kind == "opensearch"
        self.pit: str | None = None
        self.services: set[str] = set()
        self.seen_problems: set[str] = set()

    def read(self, query: SourceQuery) -> None:
        self.progress(f"{self.source.name}: opening a point in time on {self.source.index}")
        self.pit = self.open_pit()
        parts = window_parts(query)
        for p_index, part in enumerate(parts):
            try:
                cut = self.read_part(part, query)
            except SourceError as exc:
                if not self.report.row_total:
                    raise
                self.report.errors.append(f"{part.name}: {exc}")
                break
            if cut:
                self.report.truncated.append(cap_message(self.budget.limit, part, cut[0], parts[p_index + 1 :], cut[1]))
                break
        self.report.services = sorted(self.services)

    def read_part(self, part: WindowPart, query: SourceQuery) -> tuple[int | None, str] | None:
        """Page through one part; when the row cap cut it: (time of the last row kept, counts)."""
        search_after: list[Any] | None = None
        total: int | None = None
        first = True
        kept = 0
        reached: int | None = None
        while True:
            self.progress(f"{self.source.name}: {part.name} ({self.report.row_total} lines)")
            # One hit more than the budget allows tells whether the cap cuts anything.
            size = min(self.source.page_size, self.budget.limit - self.budget.used + 1)
            body = self.search(self.request(part, query, size, search_after, count=first))
            hits = body["hits"]["hits"]
            if first:
                total, first = _total(body["hits"].get("total")), False
            taken = self.budget.take(len(hits))
            for hit in hits[:taken]:
                ts = self.add(hit)
                reached = ts if ts is not None else reached
            kept += taken
            if taken < len(hits):
                return reached, f" ({kept} of {total} lines)" if total is not None else ""
            if len(hits) < size:
                return None
            last_sort = hits[-1].get("sort")
            if not isinstance(last_sort, list):
                raise self.error("_search", "a hit has no 'sort' values to continue after")
            search_after = last_sort

    def request(
        self, part: WindowPart, query: SourceQuery, size: int, search_after: list[Any] | None, *, count: bool
    ) -> dict[str, Any]:
        order = "desc" if part.newest_first else "asc"
        window = {
            "gte": iso(part.range.start_ns),
            "lt": iso(part.range.end_ns),
            "format": "strict_date_optional_time_nanos",
        }
        filters: list[dict[str, Any]] = [{"range": {self.source.time_field: window}}]
        if query.services:
            filters.append({"terms": {self.source.service_field: list(query.services)}})
        sort: list[dict[str, Any]] = [{self.source.time_field: {"order": order, "unmapped_type": "date"}}]
        # Within an Elasticsearch PIT, `_shard_doc` is added implicitly; elsewhere `_id` keeps pages exact.
        tiebreaker = self.source.tiebreaker or (None if self.pit and not self.opensearch else "_id")
        if tiebreaker:
            sort.append({tiebreaker: {"order": order}})
        body: dict[str, Any] = {
            "size": size,
            "query": {"bool": {"filter": filters}},
            "sort": sort,
            "track_total_hits": count,
        }
        if search_after is not None:
            body["search_after"] = search_after
        if self.pit:
            body["pit"] = {"id": self.pit, "keep_alive": KEEP_ALIVE}
        return body

    def search(self, body: dict[str, Any]) -> dict[str, Any]:
        path = "/_search" if self.pit else f"/{self.index_path}/_search"
        answer = self.http.post_json(path, body)
        if not isinstance(answer, dict) or not isinstance(answer.get("hits"), dict):
            raise self.error(path, f"unexpected answer (no hits): {str(answer)[:200]}")
        if not isinstance(answer["hits"].get("hits"), list):
            raise self.error(path, f"unexpected answer (no hits.hits): {str(answer)[:200]}")
        if isinstance(answer.get("pit_id"), str):
            self.pit = answer["pit_id"]  # a PIT id may change from page to page
        shards = answer.get("_shards")
        if isinstance(shards, dict) and shards.get("failed"):
            failures = shards.get("failures") or [{}]
            reason = failures[0].get("reason", {}) if isinstance(failures[0], dict) else {}
            why = f"{reason.get('type', '')}: {reason.get('reason', '')}" if isinstance(reason, dict) else str(reason)
            self.problem(f"{shards['failed']} of {shards.get('total')} shards failed ({why}); their lines are missing")
        if answer.get("timed_out"):
            self.problem("a search timed out on the server; pages may miss lines")
        return answer

    def add(self, hit: Any) -> int | None:
        """One hit -> one logs row; returns its time (None when the hit had no usable _source)."""
        where = f"{self.source.kind}:{self.source.name}"
        source = hit.get("_source") if isinstance(hit, dict) else None
        if not isinstance(source, dict):
            self.sink.problem(where, f"hit {hit.get('_id') if isinstance(hit, dict) else hit!r} has no _source")
            return None
        flat = flatten(source)
        for role, field in self.source.fields.items():
            if field in flat:
                flat[FIELD_ROLES[role]] = flat.pop(field)
        sort = hit.get("sort")
        row = add_json_log(
            flat,
            self.sink,
            src=where,
            source=f"{where}/{hit.get('_index', '')}/{hit.get('_id', '')}",
            ts_fallback=parse_time_ns(sort[0]) if isinstance(sort, list) and sort else None,
        )
        if row is None:
            return None
        self.report.add_rows("logs", 1)
        self.report.saw_time(row["ts_ns"])
        if row["service"]:
            self.services.add(row["service"])
        return int(row["ts_ns"])

    def open_pit(self) -> str | None:
        path = f"/{self.index_path}/_search/point_in_time" if self.opensearch else f"/{self.index_path}/_pit"
        try:
            response = self.http.request("POST", path, params={"keep_alive": KEEP_ALIVE})
        except SourceError as exc:
            status = _status(exc)
            if status not in _NO_PIT_STATUS:
                raise
            tiebreaker = self.source.tiebreaker or "_id"
            self.report.notes.append(
                f"no point in time (HTTP {status} from {path}); paging with search_after on "
                f"{self.source.time_field} and {tiebreaker}, so lines written meanwhile may shift pages"
            )
            return None
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            answer = None
        pit = answer.get("pit_id" if self.opensearch else "id") if isinstance(answer, dict) else None
        if not isinstance(pit, str):
            raise self.error(path, f"unexpected answer (no point-in-time id): {str(answer)[:200]}")
        return pit

    def close_pit(self) -> None:
        """Free the point in time now rather than at keep_alive's end; a failure here costs nothing else."""
        if self.pit is None:
            return
        path, body = (
            ("/_search/point_in_time", {"pit_id": [self.pit]}) if self.opensearch else ("/_pit", {"id": self.pit})
        )
        try:
            self.http.request("DELETE", path, content=orjson.dumps(body))
        except SourceError as exc:
            self.report.notes.append(f"could not close the point in time ({exc}); it expires after {KEEP_ALIVE}")
        self.pit = None

    def problem(self, message: str) -> None:
        if message not in self.seen_problems:
            self.seen_problems.add(message)
            self.report.errors.append(message)

    @property
    def index_path(self) -> str:
        return quote(self.source.index, safe="*,:-_.+")

    def error(self, path: str, reason: str) -> SourceError:
        url = redact_url(self.source.config.url) + path
        return SourceError(f"{self.source.kind} source {self.source.name!r}: POST {url}: {reason}")


def _total(total: Any) -> int | None:
    """`hits.total`: {"value": n, "relation": "eq"} (7.x+) or a number (6.x); None when only a lower bound."""
    if isinstance(total, int):
        return total
    if isinstance(total, dict) and total.get("relation") == "eq" and isinstance(total.get("value"), int):
        return int(total["value"])
    return None


def _status(exc: SourceError) -> int | None:
    """The HTTP status the backend answered with, when it answered."""
    return exc.status
