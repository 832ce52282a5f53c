"""The trace sources' shared search logic without a server: time slicing, sample slices, OTLP regrouping."""

from __future__ import annotations

from collections.abc import Callable

from incidentlens.model import TimeRange
from incidentlens.sources.traceload import split_by_trace
from incidentlens.sources.tracesearch import CAP_REACHED, MAX_SEARCHES, even_slices, rfc3339, sliced_search

Search = Callable[[TimeRange], int]


def backend(starts: list[int], limit: int) -> tuple[list[TimeRange], Search]:
    """A backend listing at most `limit` of the traces starting in a range, and the ranges it was asked."""
    asked: list[TimeRange] = []

    def search(part: TimeRange) -> int:
        asked.append(part)
        return min(limit, sum(part.start_ns <= s < part.end_ns for s in starts))

    return asked, search


def slice_all(window: TimeRange, search: Search, limit: int, width: int = 1) -> str | None:
    return sliced_search(window, search, limit=limit, min_width_ns=width, enough=lambda: False)


def test_a_full_answer_is_split_earliest_half_first_until_answers_are_short() -> None:
    starts = list(range(0, 1000, 10))
    asked, search = backend(starts, limit=30)
    assert slice_all(TimeRange(0, 1000), search, 30) is None
    assert asked[:3] == [TimeRange(0, 1000), TimeRange(0, 500), TimeRange(0, 250)]
    leaves = [p for p in asked if sum(p.start_ns <= s < p.end_ns for s in starts) < 30]
    assert sum(p.end_ns - p.start_ns for p in leaves) == 1000  # the short answers cover the window once


def test_slicing_stops_at_the_cap_the_narrowest_slice_or_the_search_bound() -> None:
    asked, search = backend(list(range(100)), limit=10)
    capped = sliced_search(TimeRange(0, 100), search, limit=10, min_width_ns=1, enough=lambda: len(asked) >= 3)
    assert capped == CAP_REACHED and len(asked) == 3
    _, search = backend([5] * 50, limit=10)
    narrowest = slice_all(TimeRange(0, 100), search, 10, width=4)
    assert narrowest == "a 6e-09 s slice still answered 10 traces (search_limit)"
    asked, search = backend(list(range(1000)), limit=1)
    assert slice_all(TimeRange(0, 1000), search, 1) == f"{MAX_SEARCHES} searches were made"
    assert len(asked) == MAX_SEARCHES
    assert slice_all(TimeRange(5, 5), search, 1) is None and len(asked) == MAX_SEARCHES  # empty: nothing asked


def test_sample_slices_cover_the_period_and_times_are_rfc3339_with_nanoseconds() -> None:
    assert even_slices(TimeRange(0, 10)) == [TimeRange(0, 2), TimeRange(2, 5), TimeRange(5, 8), TimeRange(8, 10)]
    assert even_slices(TimeRange(7, 7)) == []
    assert rfc3339(1_762_592_400_000_000_007) == "2025-11-08T09:00:00.000000007Z"


def test_merged_resource_spans_are_regrouped_per_trace() -> None:
    one, two = "0" * 31 + "1", "0" * 31 + "2"
    spans = [{"traceId": one, "spanId": "a" * 16}, {"traceId": "AAAAAAAAAAAAAAAAAAAAAg==", "spanId": "b" * 16}]
    merged = [{"resource": {"attributes": []}, "instrumentationLibrarySpans": [{"spans": spans}]}]
    traces = split_by_trace(merged)
    assert sorted(traces) == [one, two]
    assert traces[two] == [{"resource": {"attributes": []}, "scopeSpans": [{"scope": None, "spans": spans[1:]}]}]
