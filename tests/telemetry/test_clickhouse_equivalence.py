"""The same simulated incident read from files (DuckDB) and from the exporter's tables in ClickHouse (chdb, the
real engine in process): every pushed-down question gives the same rows, and the investigation the same
ranked hypotheses and key evidence numbers."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path

import pytest

pytest.importorskip("chdb", reason="the clickhouse extra (chdb) is not installed")

from incidentlens.ingest.runner import read_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.investigation import InvestigationRequest, TimeWindow, run
from incidentlens.investigation.analysis import detect_windows
from incidentlens.investigation.request import InvestigationResult
from incidentlens.model import TimeRange
from incidentlens.simulate import Truth, simulate
from incidentlens.sources.clickhouse import ClickHouseSource
from incidentlens.sources.config import parse_source
from incidentlens.sources.files import FileSource
from incidentlens.telemetry import clickhouse_logqueries
from incidentlens.telemetry.clickhouse_connection import ClickHouseConnection, connect
from incidentlens.telemetry.clickhouse_ddl import create_statements
from incidentlens.telemetry.clickhouse_load import copy_store
from incidentlens.telemetry.clickhouse_queries import ClickHouseQueries
from incidentlens.telemetry.clickhouse_schema import OtelSchema, OtelTables
from incidentlens.telemetry.logqueries import log_message_groups
from incidentlens.telemetry.queries import DuckDBQueries
from incidentlens.telemetry.store import TelemetryStore


class Loaded:
    def __init__(self, folder: Path, truth: Truth, store: TelemetryStore, conn: ClickHouseConnection, db: Path):
        self.folder, self.truth, self.store, self.conn, self.db = folder, truth, store, conn, db


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    root = tmp_path_factory.mktemp("chdb-equivalence")
    folder = root / "bundle"
    truth = simulate("bad_deploy_exception", seed=7, out=folder, with_repo=False, scale=0.5)
    store = TelemetryStore()
    with store.transaction():
        sink = RowSink(require_time=True)
        sink.attach(store.append_buffer)
        read_paths([folder / "logs", folder / "traces", folder / "metrics"], sink)
        store.append(sink)
    conn = connect(f"chdb:{root / 'db'}")
    for statement in create_statements():
        conn.command(statement)
    copied = copy_store(store, conn)
    assert copied["otel_traces"] == store.counts()["spans"] > 5_000
    yield Loaded(folder, truth, store, conn, root / "db")
    conn.close()
    store.close()


def _same(a: object, b: object) -> bool:
    """Equal, floats to 1e-9 relative (interpolation may round the last bit differently)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _rows(rows: list[object], *, skip: tuple[int, ...] = ()) -> list[tuple[object, ...]]:
    out = [tuple(v for i, v in enumerate(astuple(r)) if i not in skip) for r in rows]  # type: ignore[call-overload]
    return sorted(out, key=repr)


MINUTE = 60_000_000_000


def test_every_pushed_down_question_answers_as_duckdb(loaded: Loaded) -> None:
    duck = DuckDBQueries(loaded.store)
    bounds = duck.bounds()
    assert bounds is not None
    ch = ClickHouseQueries(
        loaded.conn, OtelSchema.detect(loaded.conn, OtelTables()), TimeRange(bounds.start_ns, bounds.end_ns)
    )
    assert ch.bounds() == bounds
    assert ch.services_by_signal() == duck.services_by_signal()
    windows = detect_windows(duck)
    assert detect_windows(ch) == windows
    b, i, whole = windows.baseline, windows.incident, TimeRange(bounds.start_ns, bounds.end_ns)
    assert ch.error_timeline(whole, 30_000_000_000, reference_end_ns=i.start_ns) == duck.error_timeline(
        whole, 30_000_000_000, reference_end_ns=i.start_ns
    )
    culprit = loaded.truth.service
    # Examples chosen among equals (any row of a group) may differ; everything counted or measured may not.
    pairs: list[tuple[str, list[object], list[object], tuple[int, ...]]] = [
        ("error_origins", ch.error_origins(b, i), duck.error_origins(b, i), (7, 9)),
        ("self_time_shifts", ch.self_time_shifts(b, i), duck.self_time_shifts(b, i), (11,)),
        ("service_volumes", ch.service_volumes(b, i), duck.service_volumes(b, i), ()),
        ("metric_shifts", ch.metric_shifts(b, i), duck.metric_shifts(b, i), ()),
        ("edges", ch.edges(whole), duck.edges(whole), ()),
        ("edge_gaps", ch.edge_gaps(b, i), duck.edge_gaps(b, i), (7,)),
        ("exception_frames", ch.exception_frames(culprit, i), duck.exception_frames(culprit, i), (3,)),
        ("metric_series", ch.metric_series(whole, "error|latency"), duck.metric_series(whole, "error|latency"), ()),
        ("service_timeline", ch.service_timeline(whole, MINUTE), duck.service_timeline(whole, MINUTE), ()),
        ("labelled_series", ch.labelled_series(whole, "cpu|error"), duck.labelled_series(whole, "cpu|error"), ()),
    ]  # fmt: skip
    for name, got, want, skip in pairs:
        assert got, name
        assert _same(_rows(got, skip=skip), _rows(want, skip=skip)), name
    assert _same(astuple(ch.entry_stats(b, i)), astuple(duck.entry_stats(b, i)))
    assert ch.logger_counts_by_service(b, i) == duck.logger_counts_by_service(b, i)
    trace = next(o.example_trace for o in duck.error_origins(b, i) if o.example_trace)
    assert ch.trace_spans(trace, 50) == duck.trace_spans(trace, 50)
    assert ch.trace_spans("", 50) == duck.trace_spans("", 50) == ([], 0)


@pytest.mark.parametrize("listed", [10_000, 0], ids=["messages-listed", "shapes-as-subquery"])
def test_log_messages_are_counted_alike_and_id_only_variants_are_folded(
    loaded: Loaded, listed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clickhouse_logqueries, "_MAX_LISTED_MESSAGES", listed)
    duck = DuckDBQueries(loaded.store)
    windows = detect_windows(duck)
    b, i = windows.baseline, windows.incident
    want = duck.log_message_groups(b, i)
    bounds = duck.bounds()
    assert bounds is not None
    schema = OtelSchema.detect(loaded.conn, OtelTables())
    whole = TimeRange(bounds.start_ns, bounds.end_ns)
    exact = ClickHouseQueries(loaded.conn, schema, whole, max_message_groups=None).log_message_groups(b, i)
    assert _rows(exact, skip=(8, 9, 10)) == _rows(want, skip=(8, 9, 10))  # example line and its file may differ
    folded = ClickHouseQueries(loaded.conn, schema, whole, max_message_groups=50).log_message_groups(b, i)
    assert len(folded) < len(want) // 2  # messages carrying per-request ids cross as one row per shape
    # DuckDB folds the same shapes past its bound (distinct traces of a folded shape: exact sums here, estimated
    # distinct there).
    duck_folded = log_message_groups(loaded.store, b, i, fold_above=0, max_variants=50)
    assert _rows(duck_folded, skip=(5, 6, 8, 9, 10)) == _rows(folded, skip=(5, 6, 8, 9, 10))
    assert any(g.folded for g in folded)
    narrow = {(g.service, g.level, g.message) for g in folded} & {(g.service, g.level, g.message) for g in want}
    assert narrow  # shapes with few messages still cross message by message
    for level in ("ERROR", "INFO"):
        for window in ("baseline_count", "incident_count"):
            total = sum(getattr(g, window) for g in want if g.level == level)
            assert sum(getattr(g, window) for g in folded if g.level == level) == total


def _clickhouse_run(loaded: Loaded, **options: object) -> InvestigationResult:
    bounds = DuckDBQueries(loaded.store).bounds()
    assert bounds is not None
    config = parse_source("otel", {"kind": "clickhouse", "url": f"chdb:{loaded.db}"} | options)
    return run(
        InvestigationRequest(
            sources=(FileSource.of([loaded.folder / "alerts", loaded.folder / "changes"]), ClickHouseSource(config)),
            window=TimeWindow(since_ns=bounds.start_ns, until_ns=bounds.end_ns),
        )
    )


@pytest.fixture(scope="module")
def files(loaded: Loaded) -> InvestigationResult:
    return run(InvestigationRequest.for_files([loaded.folder]))


@pytest.fixture(scope="module")
def pushed(loaded: Loaded) -> InvestigationResult:
    return _clickhouse_run(loaded)


def test_the_investigation_ranks_the_same_hypotheses_on_the_same_evidence(
    loaded: Loaded, files: InvestigationResult, pushed: InvestigationResult
) -> None:
    assert pushed.windows == files.windows
    assert pushed.hypotheses[0].service == loaded.truth.service
    ranked = [(h.service, h.fault) for h in pushed.hypotheses]
    assert ranked == [(h.service, h.fault) for h in files.hypotheses]
    for got, want in zip(pushed.hypotheses, files.hypotheses, strict=True):
        assert got.confidence == pytest.approx(want.confidence, abs=0.02), got.service
    leading = files.hypotheses[0]
    for evidence_id in leading.supporting:
        want_e = files.evidence[evidence_id]
        got_e = next(
            (e for e in pushed.evidence.values() if e.kind == want_e.kind and e.service == want_e.service
             and e.summary == want_e.summary),
            None,
        )  # fmt: skip
        assert got_e is not None, want_e.summary
        numbers = {k: v for k, v in want_e.attributes.items() if isinstance(v, int | float)}
        assert {k: got_e.attributes.get(k) for k in numbers} == pytest.approx(numbers, rel=1e-6)
    (report,) = [r for r in pushed.sources if r.kind == "clickhouse"]
    assert report.rows == {k: v for k, v in loaded.store.counts().items() if k in ("logs", "spans", "metrics")}
    assert any("analysed in ClickHouse" in n for n in report.notes)
    assert pushed.brief.inputs["spans"] == files.brief.inputs["spans"]


def test_over_http_only_aggregates_cross_the_wire(loaded: Loaded, pushed: InvestigationResult) -> None:
    """clickhouse-connect against ClickHouse's HTTP interface served from chDB (the same engine, in a local
    server sharing this process's session): the same answer, and a small fraction of the data transferred."""
    from tests.sources.chdb_http_server import ChdbHttpServer

    server = ChdbHttpServer(str(loaded.db), shared=loaded.conn.session)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        over_http = _clickhouse_run(loaded, url=server.url)
    finally:
        server.shutdown()
        server.server_close()
    in_process = pushed
    assert [(h.service, h.fault) for h in over_http.hypotheses] == [(h.service, h.fault) for h in in_process.hypotheses]
    assert over_http.hypotheses[0].confidence == pytest.approx(in_process.hypotheses[0].confidence)
    raw = sum(p.stat().st_size for p in loaded.folder.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl"))
    assert 0 < server.sent_bytes < raw / 10, (server.sent_bytes, raw)
    assert not any("SELECT *" in q and "GROUP BY" not in q for q in server.queries)
