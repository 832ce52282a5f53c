"""What the change sources (kubernetes, argocd, github) share: putting built rows into the sink under the row
cap and the query's service narrowing."""

from __future__ import annotations

from typing import Any

from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.budget import RowBudget
from incidentlens.sources.protocol import SourceQuery, SourceReport

Row = dict[str, Any]


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
