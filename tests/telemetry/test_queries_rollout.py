"""Rollout queries on a real DuckDB store: per-pod series kept apart, the pod each deploy step names."""

from __future__ import annotations

from incidentlens.ingest.sink import RowSink
from incidentlens.model import ChangeKind, TimeRange
from incidentlens.telemetry.queries import DuckDBQueries
from incidentlens.telemetry.store import TelemetryStore

S = 1_000_000_000


def test_labelled_series_keep_replicas_apart_and_changes_carry_their_pod() -> None:
    sink = RowSink()
    for pod, version, value in (("cart-a-1", "v1", 0.01), ("cart-b-1", "v2", 0.2)):
        for i in range(3):
            sink.metrics.add(
                ts_ns=i * S,
                service="cart",
                name="http_server_error_ratio",
                labels=f'{{"pod": "{pod}", "version": "{version}"}}',
                value=value,
                source="m.json",
            )
    sink.changes.add(
        ts_ns=S, service="cart", kind="deploy", description="step 1", author="", commit="", previous="v1",
        current="v2", attributes='{"pod": "cart-b-1", "step": "1/2"}', source="c.json",
    )  # fmt: skip
    sink.changes.add(
        ts_ns=2 * S, service="cart", kind="config", description="x", author="", commit="", previous="",
        current="", attributes="", source="c.json",
    )  # fmt: skip
    with TelemetryStore() as store:
        store.append(sink)
        queries = DuckDBQueries(store)
        series = queries.labelled_series(TimeRange(0, 10 * S), "error")
        changes = queries.changes(TimeRange(0, 10 * S))
        shifts = queries.metric_shifts(TimeRange(0, S), TimeRange(S, 3 * S))
    assert [(s.label("pod"), s.label("version"), s.values) for s in series] == [
        ("cart-a-1", "v1", (0.01, 0.01, 0.01)),
        ("cart-b-1", "v2", (0.2, 0.2, 0.2)),
    ]
    assert [(c.kind, c.pod) for c in changes] == [(ChangeKind.DEPLOY, "cart-b-1"), (ChangeKind.CONFIG, "")]
    # The service-level view spans both versions: one series whose replicas are averaged.
    assert len(shifts) == 1 and shifts[0].service == "cart"


def test_a_pod_started_inside_the_data_has_its_first_minute_of_cpu_left_out() -> None:
    sink = RowSink()
    step = 15 * S

    def cpu(pod: str, start: int, end: int, burst: bool) -> None:
        for t in range(start, end, step):
            value = 0.5 if burst and t - start < 60 * S else 0.05
            sink.metrics.add(
                ts_ns=t, service="ad", name="container_cpu_usage_ratio", labels=f'{{"pod": "{pod}"}}', value=value,
                source="m.json",
            )  # fmt: skip

    cpu("ad-old-1", 0, 600 * S, burst=True)  # there from the start: its first minute is data, kept
    cpu("ad-new-1", 600 * S, 1200 * S, burst=True)  # started inside the data: its burst is start-up
    with TelemetryStore() as store:
        store.append(sink)
        (shift,) = DuckDBQueries(store).metric_shifts(TimeRange(0, 600 * S), TimeRange(600 * S, 1200 * S))
    assert max(shift.values) == 0.05 and shift.first_ns == 660 * S
    assert shift.baseline_max == 0.5
