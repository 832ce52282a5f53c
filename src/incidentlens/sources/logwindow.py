"""The order in which log sources read a window, so that a row cap never cuts the incident.

Logs are read in parts: the incident first (oldest to newest), then the normal period before it from the
incident backwards (newest to oldest), then any time after the incident (oldest to newest). A source that
stops at `max_rows` therefore always keeps the incident and the normal period nearest to it, and what it
leaves out is the oldest normal-period lines; `cap_message` says so in the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from incidentlens.model import TimeRange
from incidentlens.sources.protocol import SourceQuery

INCIDENT = "incident"
NORMAL = "normal period"
AFTER = "time after the incident"


@dataclass(frozen=True, slots=True)
class WindowPart:
    """One part of the window and the direction to read it in."""

    name: str
    range: TimeRange
    newest_first: bool


def window_parts(query: SourceQuery) -> list[WindowPart]:
    """The non-empty parts of the query's window in reading order (the incident clamped to the window)."""
    window = query.window
    start = min(max(query.incident.start_ns, window.start_ns), window.end_ns)
    end = min(max(query.incident.end_ns, start), window.end_ns)
    parts = [
        WindowPart(INCIDENT, TimeRange(start, end), newest_first=False),
        WindowPart(NORMAL, TimeRange(window.start_ns, start), newest_first=True),
        WindowPart(AFTER, TimeRange(end, window.end_ns), newest_first=False),
    ]
    return [p for p in parts if p.range.end_ns > p.range.start_ns]


def iso(ns: int) -> str:
    """RFC 3339 in UTC with nanoseconds (what Elasticsearch's `strict_date_optional_time_nanos` reads)."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def cap_message(limit: int, part: WindowPart, reached_ns: int | None, later: list[WindowPart], detail: str = "") -> str:
    """The truncation line when `max_rows` stopped reading inside `part`; `later` parts were not read at all.

    `reached_ns` is the time of the last row kept in `part` (None: none was); `detail` adds counts if known.
    """
    if reached_ns is None:
        cut = f"the {part.name} was not loaded"
    elif part.newest_first:
        cut = f"the {part.name} was loaded back to {iso(reached_ns)} only (older lines left out)"
    else:
        cut = f"the {part.name} was loaded up to {iso(reached_ns)} only (later lines left out)"
    if part.name == INCIDENT:
        cut = "the incident alone has more lines than that: " + cut
    skipped = "".join(f"; the {p.name} was not loaded" for p in later)
    return f"logs capped at {limit} rows (max_rows), read incident first: {cut}{detail}{skipped}"
