"""A rolling update (pods replaced one by one, Istio-style call edges) read from files (DuckDB) and from the
exporter's tables in chdb: the per-pod series, the call-edge series and the service-level shifts without the
start-up minutes are the same from either engine. (Its own module: chdb holds one database per process, and
`test_clickhouse_equivalence` keeps its database open for its module.)"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

pytest.importorskip("chdb", reason="the clickhouse extra (chdb) is not installed")

from incidentlens.ingest.runner import read_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.investigation.analysis import detect_windows
from incidentlens.model import TimeRange
from incidentlens.simulate.rollout import simulate_rollout
from incidentlens.telemetry.clickhouse_connection import connect
from incidentlens.telemetry.clickhouse_ddl import create_statements
from incidentlens.telemetry.clickhouse_load import copy_store
from incidentlens.telemetry.clickhouse_queries import ClickHouseQueries
from incidentlens.telemetry.clickhouse_schema import OtelSchema, OtelTables
from incidentlens.telemetry.queries import DuckDBQueries
from incidentlens.telemetry.rows import EdgeMetricSeries
from incidentlens.telemetry.store import TelemetryStore

from .test_clickhouse_equivalence import _rows, _same


def test_rollout_series_per_pod_and_per_edge_answer_as_duckdb(tmp_path: Path) -> None:
    folder = tmp_path / "rollout"
    simulate_rollout("rollout_edge_errors", seed=8, out=folder)
    store = TelemetryStore()
    with store.transaction():
        sink = RowSink(require_time=True)
        sink.attach(store.append_buffer)
        read_paths([folder / "metrics"], sink)
        store.append(sink)
    conn = connect(f"chdb:{tmp_path / 'db'}")
    try:
        for statement in create_statements():
            conn.command(statement)
        copy_store(store, conn)
        duck = DuckDBQueries(store)
        bounds = duck.bounds()
        assert bounds is not None
        whole = TimeRange(bounds.start_ns, bounds.end_ns)
        ch = ClickHouseQueries(conn, OtelSchema.detect(conn, OtelTables()), whole)
        windows = detect_windows(duck)
        b, i = windows.baseline, windows.incident
        per_pod = duck.labelled_series(whole, "cpu|error|request")
        assert len({s.label("pod") for s in per_pod}) > 5  # replicas kept apart
        assert _same(_rows(ch.labelled_series(whole, "cpu|error|request")), _rows(per_pod))
        edges = duck.edge_series(whole)
        assert edges

        def comparable(series: list[EdgeMetricSeries]) -> list[tuple[object, ...]]:
            labelled = [(s.name, sorted(orjson.loads(s.labels).items()), s.times, s.values) for s in series]
            return sorted(labelled, key=repr)

        assert _same(comparable(ch.edge_series(whole)), comparable(edges))
        shifts = duck.metric_shifts(b, i)
        assert shifts
        assert _same(_rows(ch.metric_shifts(b, i), skip=(2,)), _rows(shifts, skip=(2,)))  # labels JSON spelling
    finally:
        conn.close()
        store.close()
