"""The ClickHouse source: its options, what it says about missing tables, and its place in an investigation
(on chdb, the real engine in process; `tests/telemetry/test_clickhouse_equivalence.py` checks the answers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from incidentlens.errors import ConfigError, InputError
from incidentlens.investigation import InvestigationRequest, TimeWindow, run
from incidentlens.sources.config import parse_source
from incidentlens.sources.protocol import PushdownSource
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.clickhouse_connection import connect, identifier, literal

MINUTE_NS = 60_000_000_000
T0 = 1_794_128_400_000_000_000


def _source(**entry: object) -> object:
    return build_source(parse_source("otel", {"kind": "clickhouse", "url": "chdb:/nonexistent"} | entry))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"url": None}, "'url' is required"),
        ({"traces_table": "otel traces"}, "'traces_table' must be a table name"),
        ({"metrics_tables": "otel_metrics_gauge"}, "'metrics_tables' must be a list"),
        ({"settings": {"max threads": 2}}, "'settings' must map ClickHouse setting names"),
        ({"settings": {"max_threads": True}}, "'settings' must map"),
        ({"max_message_variants": 0}, "from 1 to 100"),
        ({"tables": "x"}, "unknown key"),
    ],
)
def test_options_are_checked_before_anything_is_queried(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        if entry.get("url", "") is None:
            build_source(parse_source("otel", {"kind": "clickhouse"}))
        else:
            _source(**entry)


def test_it_is_a_live_source_analysed_in_place() -> None:
    source = _source(metrics_tables=["otel.otel_metrics_gauge"], settings={"max_threads": 2})
    assert isinstance(source, PushdownSource)
    assert source.live and source.signals == ("logs", "spans", "metrics")  # type: ignore[attr-defined]
    assert source.settings == "max_threads = 2"  # type: ignore[attr-defined]


def test_sql_literals_and_identifiers_are_quoted() -> None:
    assert literal("it's a \\ test") == "'it\\'s a \\\\ test'"
    assert literal(3) == "3" and literal(None) == "NULL"
    assert identifier("otel.otel_traces") == "`otel`.`otel_traces`"
    assert identifier("a`b") == "`a``b`"


def test_a_url_that_is_neither_http_nor_chdb_is_refused() -> None:
    with pytest.raises(ConfigError, match="expected http"):
        connect("ftp://clickhouse:9000")
    with pytest.raises(ConfigError, match="needs a database directory"):
        connect("chdb:")


@pytest.fixture(scope="module")
def logs_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A chdb database with only the exporter's logs table, holding an hour of a failing service."""
    pytest.importorskip("chdb", reason="the clickhouse extra (chdb) is not installed")
    from incidentlens.telemetry.clickhouse_ddl import LOGS

    db = tmp_path_factory.mktemp("chdb-logs-only") / "db"
    conn = connect(f"chdb:{db}")
    conn.command(LOGS.format(name="otel_logs"))
    conn.command(
        "INSERT INTO otel_logs (Timestamp, SeverityText, ServiceName, Body)"
        f" SELECT fromUnixTimestamp64Nano(toInt64({T0} + number * 1000000000), 'UTC'),"
        " if(number > 2700 AND number % 3 = 0, 'ERROR', 'INFO'), 'cart',"
        " if(number > 2700 AND number % 3 = 0, 'GetCart failed: cart store unavailable', 'GetCart ok')"
        " FROM numbers(3600)"
    )
    yield db
    conn.close()


def test_missing_tables_are_a_note_and_no_tables_a_failure(logs_only: Path, tmp_path: Path) -> None:
    window = TimeWindow(since_ns=T0, until_ns=T0 + 60 * MINUTE_NS)
    source = build_source(parse_source("otel", {"kind": "clickhouse", "url": f"chdb:{logs_only}"}))
    result = run(InvestigationRequest(sources=(source,), window=window))
    (report,) = result.sources
    assert report.rows == {"logs": 3600}
    assert any(
        "tables not found (read as empty): otel_traces, otel_metrics_gauge, otel_metrics_sum" in n for n in report.notes
    )
    assert result.brief.inputs["logs"] == 3600 and result.brief.inputs["spans"] == 0
    assert "no traces from any source" in result.brief.coverage_gaps
    wrong = build_source(
        parse_source(
            "bad",
            {
                "kind": "clickhouse",
                "url": f"chdb:{logs_only}",
                "logs_table": "nope",
                "traces_table": "nah",
                "metrics_tables": [],
            },
        )
    )
    with pytest.raises(InputError, match="none of the tables nah, nope exist"):
        run(InvestigationRequest(sources=(wrong,), window=window))


def test_one_source_analysed_in_place_per_investigation(logs_only: Path) -> None:
    a = build_source(parse_source("a", {"kind": "clickhouse", "url": f"chdb:{logs_only}"}))
    b = build_source(parse_source("b", {"kind": "clickhouse", "url": f"chdb:{logs_only}"}))
    with pytest.raises(ConfigError, match="one source analysed in place per investigation, got a, b"):
        run(InvestigationRequest(sources=(a, b), window=TimeWindow(since_ns=T0, until_ns=T0 + MINUTE_NS)))


def test_parent_child_analyses_sample_whole_traces_past_the_limit(logs_only: Path) -> None:
    from incidentlens.model import TimeRange
    from incidentlens.telemetry.clickhouse_queries import ClickHouseQueries
    from incidentlens.telemetry.clickhouse_schema import OtelSchema, OtelTables

    conn = connect(f"chdb:{logs_only}")
    try:
        schema = OtelSchema.detect(conn, OtelTables())
        window = TimeRange(T0, T0 + 60 * MINUTE_NS)
        q = ClickHouseQueries(conn, schema, window, max_family_spans=1000)
        q._counts = {"spans": 4000, "logs": 0, "metrics": 0}  # as if the window held 4000 spans
        assert q.sample() == (250, 1000)
        assert q.scaled(10) == 40
        assert "WHERE 0" in q.family_spans(window)  # no traces table: the empty view, sampled or not
        sampled = OtelSchema(OtelTables(), True, False, ()).spans(T0, T0 + 1, sample=(250, 1000))
        assert "cityHash64(TraceId) % 1000 < 250" in sampled
        assert "250 in 1000 traces" in (q.sampling_note() or "")
        assert ClickHouseQueries(conn, schema, window).sample() is None
    finally:
        conn.close()
    with pytest.raises(ConfigError, match="'sample_traces_above' must be"):
        _source(sample_traces_above=10)


def test_telemetry_other_sources_load_beside_it_is_named_as_not_analysed(logs_only: Path, tmp_path: Path) -> None:
    from incidentlens.sources.files import FileSource

    extra = tmp_path / "app.jsonl"
    extra.write_text(
        '{"timestamp": "2026-11-08T09:10:00Z", "level": "error", "message": "boom", "service.name": "other"}\n'
    )
    source = build_source(parse_source("otel", {"kind": "clickhouse", "url": f"chdb:{logs_only}"}))
    result = run(
        InvestigationRequest(
            sources=(FileSource.of([extra]), source),
            window=TimeWindow(since_ns=T0, until_ns=T0 + 60 * MINUTE_NS),
            services=("cart",),
        )
    )
    report = next(r for r in result.sources if r.name == "otel")
    assert any("1 logs rows from other sources were not analysed" in e for e in report.errors)
    assert any("service filter does not narrow" in n for n in report.notes)
    assert any("were not analysed" in n for n in result.brief.notes)
