"""Grafana Loki as a log source: LogQL over `GET /loki/api/v1/query_range`, read by `ingest/loki.py`.

Speaks the Loki HTTP API v1 (Loki 2.x and 3.x). Without a configured label, `GET /loki/api/v1/labels` and
`GET /loki/api/v1/label/NAME/values` over the window pick the label that names services: `service_name`
(added by Loki 3), else `service`, `app`, `job`, `container`. The default query selects every stream of
the services (`{service_name=~"a|b"}`, or `=~".+"` for all); `selector` replaces it and `queries` adds
LogQL log queries. Each query reads the window in the parts of `logwindow.py` (incident first), each part
in slices of `slice_minutes`, each slice in pages of `limit` lines: `direction=forward` moving `start` to
the last timestamp returned (`backward` moving `end`, for the normal period), dropping the lines already
seen at that timestamp. Every entry becomes one `logs` row through `ingest.loki.add_streams`: the line is
the body, stream labels and structured metadata are attributes, service/level/trace id come from labels.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentlens.errors import SourceError
from incidentlens.ingest.loki import add_streams, service_from_stream
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.budget import RowBudget
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import HttpClient, redact_url
from incidentlens.sources.logwindow import WindowPart, cap_message, iso, window_parts
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport

QUERY_RANGE = "/loki/api/v1/query_range"
SERVICE_LABELS = ("service_name", "service", "app", "job", "container")
DEFAULT_LIMIT = 5000  # Loki's default max_entries_limit_per_query
DEFAULT_SLICE_MINUTES = 60
_OPTIONS = frozenset({"selector", "service_label", "queries", "limit", "slice_minutes"})
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# Loki's 400 when `limit` is above the tenant's max_entries_limit_per_query (both spellings of the name).
_MAX_ENTRIES = re.compile(r"max_entries_limit\w* \((\d+) > (\d+)\)")
_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")


class LokiSource:
    kind = "loki"
    signals = ("logs",)
    live = True

    def __init__(self, config: SourceConfig) -> None:
        config.check_options(_OPTIONS)
        if not config.url:
            raise config.option_error("'url' is required (for example http://loki:3100)")
        options = config.options
        selector = options.get("selector")
        if selector is not None and not (
            isinstance(selector, str) and selector.strip().startswith("{") and selector.strip().endswith("}")
        ):
            raise config.option_error("'selector' must be a LogQL stream selector such as {namespace=\"shop\"}")
        label = options.get("service_label")
        if label is not None and not (isinstance(label, str) and _LABEL_NAME.match(label)):
            raise config.option_error("'service_label' must be a Loki label name such as service_name or app")
        queries = options.get("queries", [])
        if not isinstance(queries, list) or not all(isinstance(q, str) and q.strip() for q in queries):
            raise config.option_error("'queries' must be a list of LogQL log queries")
        limit = options.get("limit", DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise config.option_error("'limit' must be a whole number of lines per request from 1 to 100000")
        slice_minutes = options.get("slice_minutes", DEFAULT_SLICE_MINUTES)
        if isinstance(slice_minutes, bool) or not isinstance(slice_minutes, int | float) or slice_minutes <= 0:
            raise config.option_error("'slice_minutes' must be a positive number of minutes")
        self.config = config
        self.name = config.name
        self.selector: str | None = selector.strip() if selector else None
        self.service_label: str | None = label
        self.queries: tuple[str, ...] = tuple(q.strip() for q in queries)
        self.limit = limit
        self.slice_ns = int(slice_minutes * 60 * 1_000_000_000)

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        started = time.perf_counter()
        report = SourceReport(self.name, self.kind, redact_url(self.config.url))
        with HttpClient(self.config, report) as http:
            _Run(self, http, sink, report, progress).run(query)
        report.seconds = time.perf_counter() - started
        return report


@dataclass(frozen=True, slots=True)
class _Entry:
    ts: int
    stream: int  # index in the page's result
    value: int  # index in that stream's values
    key: tuple[int, tuple[tuple[str, str], ...], str]  # what makes a line the same line across pages


class _Run:
    """One load: the HTTP client, the row budget and what was seen so far."""

    def __init__(
        self, source: LokiSource, http: HttpClient, sink: RowSink, report: SourceReport, progress: SourceProgress
    ) -> None:
        self.source = source
        self.http = http
        self.sink = sink
        self.report = report
        self.progress = progress
        self.budget = RowBudget(source.config.max_rows, report)
        self.limit = source.limit  # lowered if the server's max_entries_limit_per_query is smaller
        self.services: set[str] = set()
        self.reached: int | None = None  # time of the last line kept in the current part
        # With several queries, lines one query already loaded (same stream, time and text) are skipped.
        self.loaded: set[int] | None = None
        self.crowded: dict[int, list[int]] = {}  # query -> instants with more lines than one page holds

    def run(self, query: SourceQuery) -> None:
        failures: dict[int, str] = {}
        queries: list[str] = []
        try:
            main = self.main_query(query)
        except SourceError as exc:
            if not self.source.queries:
                raise
            main = None
            self.report.errors.append(f"finding the service label: {exc}")
        if main is not None:
            queries.append(main)
        queries.extend(self.source.queries)
        if len(queries) > 1:
            self.loaded = set()
        parts = window_parts(query)
        for p_index, part in enumerate(parts):
            self.reached = None
            for q_index, logql in enumerate(queries):
                if q_index in failures:
                    continue
                try:
                    complete = self.read_part(part, q_index, logql, len(queries))
                except SourceError as exc:
                    failures[q_index] = f"query {q_index + 1} {logql}: {exc}"
                    continue
                if not complete:
                    later = q_index + 1 < len(queries)
                    rest = f"; queries after query {q_index + 1} were not read for it" if later else ""
                    self.report.truncated.append(
                        cap_message(self.budget.limit, part, self.reached, parts[p_index + 1 :], rest)
                    )
                    self.finish(failures, len(queries))
                    return
        self.finish(failures, len(queries))

    def finish(self, failures: dict[int, str], n_queries: int) -> None:
        self.report.services = sorted(self.services)
        for q_index, instants in self.crowded.items():
            self.report.errors.append(
                f"query {q_index + 1}: at {len(instants)} instant(s) (first {iso(min(instants))}) more lines "
                f"share one timestamp than a page of {self.limit} holds; the rest of each was skipped (raise 'limit')"
            )
        if failures and len(failures) == n_queries and not self.report.row_total:
            first = next(iter(failures.values()))
            more = f" (and {len(failures) - 1} more failed queries)" if len(failures) > 1 else ""
            raise SourceError(first + more)
        self.report.errors.extend(failures.values())

    def main_query(self, query: SourceQuery) -> str | None:
        """The default LogQL: the selector narrowed to the services; None without a selector or service label."""
        source = self.source
        if source.selector is not None and not query.services:
            return source.selector
        label = source.service_label or self.discover_label(query)
        if label is None:
            return source.selector  # discover_label noted why; a selector is read without narrowing
        matcher = _service_matcher(label, query.services)
        if source.selector is None:
            return "{" + matcher + "}"
        inner = source.selector[1:-1].strip()
        return "{" + (f"{inner}, {matcher}" if inner else matcher) + "}"

    def discover_label(self, query: SourceQuery) -> str | None:
        """The first of SERVICE_LABELS present in the window that holds the services (or any real value)."""
        self.progress(f"{self.source.name}: finding the label that names services")
        window = {"start": str(query.window.start_ns), "end": str(query.window.end_ns)}
        names = _data_list(self.http.get_json("/loki/api/v1/labels", window))
        for label in (name for name in SERVICE_LABELS if name in names):
            values = set(_data_list(self.http.get_json(f"/loki/api/v1/label/{label}/values", window)))
            if query.services:
                missing = [s for s in query.services if s not in values]
                if len(missing) == len(query.services):
                    continue
                if missing:
                    self.report.notes.append(f"no streams with {label} = {', '.join(missing)} in the window")
                return label
            if values - {"", "unknown_service"}:
                return label
        wanted = f"for {', '.join(query.services)} " if query.services else ""
        self.report.notes.append(
            f"no label ({', '.join(SERVICE_LABELS)}) names services {wanted}in the window; "
            "set 'service_label' or 'selector' to choose the streams"
        )
        return None

    def read_part(self, part: WindowPart, q_index: int, logql: str, n_queries: int) -> bool:
        """Read one query over one part, slice by slice; False when the row cap stopped it."""
        slices = _slices(part.range, self.source.slice_ns, part.newest_first)
        for s_index, piece in enumerate(slices):
            self.progress(
                f"{self.source.name}: {part.name}, query {q_index + 1}/{n_queries}, "
                f"slice {s_index + 1}/{len(slices)} ({self.report.row_total} lines)"
            )
            if not self.read_slice(q_index, logql, piece, part.newest_first):
                return False
        return True

    def read_slice(self, q_index: int, logql: str, piece: TimeRange, newest_first: bool) -> bool:
        """Page through one slice; False when the row cap left lines of it out."""
        start, end = piece.start_ns, piece.end_ns
        edge: int | None = None  # the timestamp where the last page stopped
        seen_at_edge: set[tuple[int, tuple[tuple[str, str], ...], str]] = set()
        while True:
            # One line more than the budget allows tells whether the cap cuts anything.
            want = min(self.limit, self.budget.limit - self.budget.used + len(seen_at_edge) + 1)
            result, asked = self.query_range(logql, start, end, want, "backward" if newest_first else "forward")
            entries = self.entries(result, newest_first)
            new = [e for e in entries if e.key not in seen_at_edge]
            loaded = self.loaded
            fresh = new if loaded is None else [e for e in new if hash(e.key) not in loaded]
            kept = fresh[: self.budget.take(len(fresh))]
            self.add(result, kept, q_index)
            if len(kept) < len(fresh):
                return False
            if len(entries) < asked:
                return True
            last = entries[-1].ts
            if last != edge:
                seen_at_edge = set()
            edge = last
            seen_at_edge.update(e.key for e in entries if e.ts == last)
            if not new:  # a whole page at one instant, all seen: more lines share it than `limit`
                self.crowded.setdefault(q_index, []).append(last)
                seen_at_edge, edge = set(), None
                start, end = (start, last) if newest_first else (last + 1, end)
            elif newest_first:
                end = last + 1  # `end` is exclusive: keep the lines at `last` not yet returned
            else:
                start = last
            if start >= end:
                return True

    def query_range(self, logql: str, start: int, end: int, want: int, direction: str) -> tuple[list[Any], int]:
        """One `query_range` page: the streams and the limit actually asked for."""
        while True:
            asked = min(want, self.limit)
            params = {"query": logql, "start": str(start), "end": str(end), "limit": str(asked)}
            try:
                body = self.http.get_json(QUERY_RANGE, {**params, "direction": direction})
            except SourceError as exc:
                match = _MAX_ENTRIES.search(str(exc))
                if match is None or not 0 < int(match.group(2)) < asked:
                    raise
                self.limit = int(match.group(2))
                self.report.notes.append(f"the server allows at most {self.limit} lines per request; paging by that")
                continue
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, dict) or body.get("status") != "success":
                raise self.error(f"unexpected answer (no 'data' with status success): {str(body)[:200]}")
            if data.get("resultType") != "streams":
                kind = data.get("resultType")
                raise self.error(f"is a metric query (resultType {kind!r}); only log queries are read")
            for warning in body.get("warnings") or ():
                if isinstance(warning, str) and warning not in self.report.notes:
                    self.report.notes.append(warning)
            result = data.get("result")
            if not isinstance(result, list):
                raise self.error("unexpected answer: 'data.result' is not a list")
            return result, asked

    def entries(self, result: list[Any], newest_first: bool) -> list[_Entry]:
        """The page's entries in reading order; malformed ones are reported and left out."""
        out: list[_Entry] = []
        for s_index, stream in enumerate(result):
            labels = stream.get("stream") if isinstance(stream, dict) else None
            values = stream.get("values") if isinstance(stream, dict) else None
            if not isinstance(labels, dict) or not isinstance(values, list):
                self.sink.problem(self.where, f"result[{s_index}] is not a stream with labels and values")
                continue
            label_key = tuple(sorted((str(k), str(v)) for k, v in labels.items()))
            for v_index, value in enumerate(values):
                if not (isinstance(value, list) and len(value) in (2, 3) and str(value[0]).isdigit()):
                    self.sink.problem(self.where, f"result[{s_index}].values[{v_index}] is not a [ns, line] entry")
                    continue
                ts = int(value[0])
                out.append(_Entry(ts, s_index, v_index, (ts, label_key, str(value[1]))))
        out.sort(key=lambda e: e.ts, reverse=newest_first)
        return out

    def add(self, result: list[Any], kept: Sequence[_Entry], q_index: int) -> None:
        """Hand the kept entries, regrouped by stream, to the Loki reader."""
        if not kept:
            return
        by_stream: dict[int, list[Any]] = {}
        for entry in kept:
            by_stream.setdefault(entry.stream, []).append(result[entry.stream]["values"][entry.value])
        streams = [{"stream": result[s]["stream"], "values": values} for s, values in by_stream.items()]
        added = add_streams(streams, Path(self.where), f"/q{q_index + 1}", self.sink)
        self.report.add_rows("logs", added)
        self.report.saw_time(min(e.ts for e in kept))
        self.report.saw_time(max(e.ts for e in kept))
        self.reached = kept[-1].ts
        if self.loaded is not None:
            self.loaded.update(hash(e.key) for e in kept)
        self.services.update(filter(None, (service_from_stream(s["stream"]) for s in streams)))

    @property
    def where(self) -> str:
        return f"loki:{self.source.name}"

    def error(self, reason: str) -> SourceError:
        url = redact_url(self.source.config.url) + QUERY_RANGE
        return SourceError(f"loki source {self.source.name!r}: GET {url}: {reason}")


def _data_list(body: Any) -> list[str]:
    data = body.get("data") if isinstance(body, dict) else None
    return [str(v) for v in data] if isinstance(data, list) else []


def _service_matcher(label: str, services: Sequence[str]) -> str:
    """`label=~"a|b"` for the services (regex-escaped, then quoted as a LogQL string), `=~".+"` for all."""
    if not services:
        return f'{label}=~".+"'
    regex = "|".join("".join("\\" + c if c in _RE2_SPECIAL else c for c in s) for s in services)
    return f'{label}=~"{_logql_string(regex)}"'


def _logql_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _slices(span: TimeRange, width: int, newest_first: bool) -> list[TimeRange]:
    out = [TimeRange(s, min(s + width, span.end_ns)) for s in range(span.start_ns, span.end_ns, width)]
    return out[::-1] if newest_first else out
