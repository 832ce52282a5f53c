"""Log message groups on a real DuckDB store: id-carrying messages fold by shape only past the bound, and the
mined templates, counts, traces and examples come out the same either way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from incidentlens.analyze.logs import mine_groups
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.telemetry.logqueries import log_message_groups
from incidentlens.telemetry.rows import LogMessageGroup
from incidentlens.telemetry.store import TelemetryStore

S = 1_000_000_000
BASE = TimeRange(0, 600 * S)
INC = TimeRange(600 * S, 900 * S)


@pytest.fixture(scope="module")
def store() -> Iterator[TelemetryStore]:
    sink = RowSink()
    for i in range(900):
        ts = i * S
        sink.logs.add(ts_ns=ts, service="cart", level="info", body=f"GetCart called for user_id=u{i % 120:04d}",
                      trace_id=f"{i:032x}", source=f"cart.log:{i + 1}")  # fmt: skip
        sink.logs.add(ts_ns=ts, service="cart", level="INFO", body=f"cache warmed in {i % 7} ms", source="c.log:1")
        if ts >= INC.start_ns:
            body = f"charge failed order={i} for product_id=OLJ7Z\nTraceback (most recent call last):"
            sink.logs.add(ts_ns=ts, service="cart", level="ERROR", body=body, trace_id=f"{i:032x}",
                          exception_type="TypeError", source=f"cart.log:{i + 2}")  # fmt: skip
    with TelemetryStore() as s:
        s.append(sink)
        yield s


def _templates(groups: list[LogMessageGroup]) -> dict[tuple[str, str, str], tuple[object, ...]]:
    return {
        (t.service, t.level, t.template): (
            t.baseline_count, t.incident_count, t.baseline_traces, t.incident_traces, t.exception_type,
            t.example, t.example_source, t.example_trace, t.first_ns,
        )
        for t in mine_groups(groups)
    }  # fmt: skip


def test_below_the_bound_every_message_crosses_on_its_own(store: TelemetryStore) -> None:
    groups = log_message_groups(store, BASE, INC)
    assert not any(g.folded for g in groups)
    assert len(groups) == 120 + 7 + 300
    assert sum(g.incident_count for g in groups) == 300 * 3


def test_past_the_bound_wide_shapes_fold_and_mine_to_the_same_templates(store: TelemetryStore) -> None:
    exact = log_message_groups(store, BASE, INC)
    folded = log_message_groups(store, BASE, INC, fold_above=0, max_variants=50)
    assert sorted((g.level, g.folded) for g in folded if g.folded) == [("ERROR", True), ("INFO", True)]
    assert len(folded) == 2 + 7  # the 7 "cache warmed" messages are one narrow shape, kept message by message
    assert _templates(folded) == _templates(exact)
    error = next(g for g in folded if g.level == "ERROR")
    assert error.message == "charge failed order=600 for product_id=OLJ7Z"  # the first incident line is the example
    assert error.example.endswith("Traceback (most recent call last):") and error.exception_type == "TypeError"
    assert (error.incident_count, error.incident_traces, error.first_ns) == (300, 300, INC.start_ns)


def test_a_shape_at_the_variant_bound_is_not_folded(store: TelemetryStore) -> None:
    groups = log_message_groups(store, BASE, INC, fold_above=0, max_variants=300)
    assert [g.level for g in groups if g.folded] == []
