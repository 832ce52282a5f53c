"""What the change sources (kubernetes, argocd, github) share: a client that keeps the last answer, and
putting built rows into the sink under the row cap and the query's service narrowing."""

from __future__ import annotations

from typing import Any, Self

import httpx

from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.budget import RowBudget
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import HttpClient
from incidentlens.sources.protocol import SourceQuery, SourceReport

Row = dict[str, Any]


class RememberingClient(HttpClient):
    """The shared HTTP client, keeping the last response it saw (also a failed one): a caller reads its status
    and headers to tell an expired Kubernetes continue token or an exhausted GitHub rate limit from other errors.
    `last` is None when the request got no answer at all (time-out, connection refused)."""

    def __init__(self, config: SourceConfig, report: SourceReport) -> None:
        super().__init__(config, report)
        self.last: httpx.Response | None = None
        self._client.event_hooks = {"request": [], "response": [self._remember]}

    def __enter__(self) -> Self:
        return self

    def _remember(self, response: httpx.Response) -> None:
        self.last = response

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.last = None
        return super().request(method, path, **kwargs)

    @property
    def last_status(self) -> int:
        return self.last.status_code if self.last is not None else 0


def inside(window: TimeRange, ts_ns: int | None) -> bool:
    return ts_ns is not None and window.start_ns <= ts_ns < window.end_ns


class RowWriter:
    """Rows a source built, into the sink: only the query's services (all when it names none), at most
    `max_rows` in all, first come first kept; what was left out is reported on `close`."""

    def __init__(self, query: SourceQuery, sink: RowSink, report: SourceReport, max_rows: int) -> None:
        self.wanted = set(query.services)
        self.sink = sink
        self.report = report
        self.budget = RowBudget(max_rows, report)

    def add(self, table: str, rows: list[Row]) -> None:
        kept = [r for r in rows if not self.wanted or r["service"] in self.wanted]
        kept = kept[: self.budget.take(len(kept))]
        for row in kept:
            self.sink.buffers[table].add(**row)
            self.report.saw_time(row["ts_ns"])
        self.report.add_rows(table, len(kept))
        self.report.services = sorted(set(self.report.services) | {r["service"] for r in kept if r["service"]})

    def close(self) -> None:
        self.budget.close()
