"""What the trace sources (Jaeger, Tempo) share about searching: their options, which services to ask
about, and time slicing for search APIs that have a result limit but no paging.

A trace search answers at most `limit` traces. An answer that holds exactly `limit` means more may exist,
so the range is split in halves and each half is searched again, earliest first, until every answer is
under the limit, the caller has enough, or the slices cannot be split further.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from incidentlens.model import TimeRange
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.protocol import SourceQuery, SourceReport

NS_PER_SECOND = 1_000_000_000
DEFAULT_ERROR_TRACES = 500
DEFAULT_SAMPLE_TRACES = 100
DEFAULT_SEARCH_LIMIT = 100
SAMPLE_SLICES = 4  # a sample spread over the period, not the N traces a backend happens to list first
MAX_SEARCHES = 128  # per sliced search: a bound on requests however dense the traces are
MAX_SERVICES = 100
CAP_REACHED = "the cap was reached"  # what `sliced_search` says when the caller had enough first
TRACE_OPTIONS = frozenset({"error_traces", "sample_traces", "search_limit", "services", "api"})


@dataclass(frozen=True, slots=True)
class TraceOptions:
    """`error_traces`: at most this many error traces from the incident; `sample_traces`: per service, the
    traces sampled from the normal period (and again from the incident); `search_limit`: traces asked per
    search request; `services`: search these instead of discovering them; `api`: the backend API version."""

    error_traces: int
    sample_traces: int
    search_limit: int
    services: tuple[str, ...]
    api: str


def trace_options(config: SourceConfig, *, apis: tuple[str, ...]) -> TraceOptions:
    """Validate the trace options; `apis[0]` is the default API version."""
    config.check_options(TRACE_OPTIONS)
    options = config.options

    def whole(key: str, default: int, lo: int, hi: int) -> int:
        value = options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise config.option_error(f"'{key}' must be a whole number from {lo} to {hi}")
        return value

    services = options.get("services", [])
    if not isinstance(services, list) or not all(isinstance(s, str) and s for s in services):
        raise config.option_error("'services' must be a list of service names")
    api = options.get("api", apis[0])
    if api not in apis:
        raise config.option_error(f"'api' must be one of {', '.join(apis)}")
    return TraceOptions(
        error_traces=whole("error_traces", DEFAULT_ERROR_TRACES, 0, 100_000),
        sample_traces=whole("sample_traces", DEFAULT_SAMPLE_TRACES, 0, 10_000),
        search_limit=whole("search_limit", DEFAULT_SEARCH_LIMIT, 1, 10_000),
        services=tuple(services),
        api=str(api),
    )


def choose_services(
    query: SourceQuery, options: TraceOptions, discovered: Callable[[], list[str]], report: SourceReport
) -> list[str]:
    """The query's narrowing, else the configured list, else what the backend lists (at most MAX_SERVICES)."""
    if query.services:
        services = sorted(set(query.services))
    elif options.services:
        services = sorted(set(options.services))
    else:
        services = sorted(set(discovered()))
    if len(services) > MAX_SERVICES:
        report.truncated.append(
            f"services capped at {MAX_SERVICES} of {len(services)} (list them in 'services' to choose)"
        )
        services = services[:MAX_SERVICES]
    report.services = services
    return services


def service_names(values: Any) -> list[str]:
    """Service names from a list of strings or of `{"value": name}` objects (Tempo's v2 tag values)."""
    names: list[str] = []
    for value in values if isinstance(values, list) else []:
        name = value.get("value") if isinstance(value, dict) else value
        if isinstance(name, str) and name:
            names.append(name)
    return names


def sliced_search(
    window: TimeRange,
    search: Callable[[TimeRange], int],
    *,
    limit: int,
    min_width_ns: int,
    enough: Callable[[], bool],
) -> str | None:
    """Search `window`, splitting any range whose answer held `limit` traces; `search` returns the answer's size.

    Returns None when every trace was seen, else why some may be missing.
    """
    pending = [window] if window.end_ns > window.start_ns else []
    searches = 0
    missing: str | None = None
    while pending:
        if enough():
            return CAP_REACHED
        if searches >= MAX_SEARCHES:
            return f"{MAX_SEARCHES} searches were made"
        part = pending.pop()
        searches += 1
        if search(part) < limit:
            continue
        if part.end_ns - part.start_ns < 2 * min_width_ns:
            missing = f"a {seconds(part.end_ns - part.start_ns)} slice still answered {limit} traces (search_limit)"
            continue
        middle = (part.start_ns + part.end_ns) // 2
        pending += [TimeRange(middle, part.end_ns), TimeRange(part.start_ns, middle)]  # earliest half next
    return missing


def even_slices(period: TimeRange, count: int = SAMPLE_SLICES) -> list[TimeRange]:
    """`count` equal parts of `period` (none when it is empty)."""
    if period.end_ns <= period.start_ns:
        return []
    step = (period.end_ns - period.start_ns) / count
    bounds = [period.start_ns + round(step * i) for i in range(count)] + [period.end_ns]
    return [TimeRange(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def share(total: int, parts: int) -> int:
    """Per-part count so that `parts` parts hold `total` (rounded up)."""
    return math.ceil(total / parts) if parts else 0


def seconds(ns: int) -> str:
    return f"{ns / NS_PER_SECOND:g} s"


def rfc3339(ns: int) -> str:
    """RFC 3339 with nanoseconds, UTC (Jaeger api/v3 times)."""
    whole = datetime.fromtimestamp(ns // NS_PER_SECOND, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{ns % NS_PER_SECOND:09d}Z"
