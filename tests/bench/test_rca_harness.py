"""The RCA harness end to end: real Nezha and RCD cases, hand-made broken files, and the CLI."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import incidentlens.cli.bench_rca  # noqa: F401 - registers `bench rca`
from incidentlens.bench import nezha, rcd
from incidentlens.bench.rca import Dataset, report_json, report_table, run
from incidentlens.cli.app import app
from incidentlens.ingest.sink import RowSink
from incidentlens.telemetry.store import TelemetryStore

MINUTE = 60 * 10**9


@pytest.fixture(scope="module")
def nezha_dir(shared_data: Path) -> Path:
    path = shared_data / "nezha"
    if not (path / "cases.csv").is_file():
        pytest.skip(f"Nezha data not found at {path}")
    return path


@pytest.fixture(scope="module")
def rcd_dir(shared_data: Path) -> Path:
    path = shared_data / "rcd-sockshop"
    if not path.is_dir():
        pytest.skip(f"RCD data not found at {path}")
    return path


def test_nezha_case_loads_only_telemetry(nezha_dir: Path) -> None:
    case = nezha.discover(nezha_dir, system="trainticket")[1]
    inp = case.load.args[0]  # type: ignore[attr-defined]
    sink = RowSink()
    with TelemetryStore() as store:
        loaded = case.load(store, sink)
        counts = store.counts()
        assert counts["logs"] > 1000 and counts["spans"] > 1000 and counts["metrics"] > 1000
        assert store.rows("SELECT starts_ns, service, name FROM alerts") == [(inp.inject_ns, "", "benchmark incident")]
        loggers = [r[0] for r in store.rows("SELECT DISTINCT logger FROM logs WHERE logger <> ''")]
        assert loggers and all(re.fullmatch(r"\S+#\d+", lg) for lg in loggers)
        levels = {r[0] for r in store.rows("SELECT DISTINCT level FROM logs")}
        assert "INFO" in levels and levels <= {"", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
        bodies = [r[0] for r in store.rows("SELECT body FROM logs WHERE logger <> '' LIMIT 50")]
        assert not any(re.match(r"\d{2}:\d{2}:\d{2}", b) or "TraceID:" in b for b in bodies)
        services = {r[0] for r in store.rows("SELECT DISTINCT service FROM spans")}
        assert case.truth.service in services  # pod name minus its two generated parts
        assert not any(re.search(r"-[0-9a-f]{8,10}-[0-9a-z]{5}$", s) for s in services)
        assert store.scalar("SELECT count(*) FROM spans WHERE parent_span_id = 'root'") == 0
        lo, hi = store.rows("SELECT min(ts_ns), max(ts_ns) FROM metrics")[0]
        assert inp.inject_ns - 30 * MINUTE <= lo and hi <= inp.inject_ns + 3 * MINUTE
        # the truth (fault type, inner label) never reaches the store
        for table, column in (("logs", "attributes"), ("alerts", "summary"), ("metrics", "labels")):
            assert not store.scalar(
                f"SELECT count(*) FROM {table} WHERE {column} LIKE ?", [f"%{case.truth.fault_type}%"]
            )
    w = loaded.windows
    assert w.alert_ns == inp.inject_ns
    assert w.baseline.end_ns <= w.incident.start_ns <= inp.inject_ns < w.incident.end_ns
    assert loaded.metric_baseline is not None and loaded.metric_baseline.end_ns == w.incident.start_ns


def test_nezha_cases_end_to_end(nezha_dir: Path) -> None:
    cases = nezha.discover(nezha_dir, system="trainticket")[:2] + nezha.discover(nezha_dir, system="onlineboutique")[:2]
    result = run(Dataset.NEZHA, cases)
    assert [o.error for o in result.outcomes] == ["", "", "", ""]
    assert all(o.score.predicted for o in result.outcomes)
    assert all(0.0 <= o.score.confidence <= 1.0 and o.score.seconds > 0 for o in result.outcomes)
    report = report_json(result)
    assert set(report) == {"systems", "ece", "median_case_seconds", "fault_free", "cases"}
    assert set(report["systems"]) == {"trainticket", "onlineboutique"}
    assert set(report["systems"]["trainticket"]) == {"AC@1", "AC@3", "Avg@5", "AIS@1", "AIS@3", "cases"}
    assert report["cases"][0]["truth"] == cases[0].truth.service
    assert "trainticket / " in report_table(result)


def test_rcd_cases_end_to_end(rcd_dir: Path) -> None:
    cases = rcd.discover(rcd_dir)
    assert len(cases) == 50
    picked = [c for c in cases if c.case_id.endswith("_1")][:3]
    result = run(Dataset.RCD, picked)
    assert [o.error for o in result.outcomes] == ["", "", ""]
    report = report_json(result)
    assert report["systems"]["rcd-sockshop"]["cases"] == 3
    assert "AIS@1" not in report["systems"]["rcd-sockshop"]
    with TelemetryStore() as store:
        loaded = picked[0].load(store, RowSink())
        names = {r[0] for r in store.rows("SELECT DISTINCT name FROM metrics")}
        assert {"cpu", "mem", "lat_90"} <= names
        assert loaded.windows.alert_ns == loaded.windows.incident.start_ns


def _gz(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode()))


def _mini_nezha(root: Path) -> Path:
    """A two-service Nezha-layout case, hand-made, with one interleaved (broken) log record."""
    t0 = 1_700_000_000 * 10**9  # 2023-11-14 22:13:20 UTC
    day = root / "shop" / "rca_data" / "2023-11-14"
    log = "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n"
    for i in range(6):
        line = f"22:{13 + i // 3}:30.000 ERROR a.b.PayServiceImpl#{40 + i} TraceID: t{i} SpanID: s{i} [pay][failed]"
        log += f'x,{t0 + i * 10**10},n,pay-service-abc12-xyz89,c,T{i},S{i},"{{""log"":""{line}\\n""}}"\n'
    log += 'x,1,n,pay-service-abc12-xyz89,c,T,S,"{""log"":""cut""}"ulate,"stream"":""x""",z\n'  # interleaved
    _gz(day / "log" / "22_14_log.csv.gz", log)
    trace = "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n"
    trace += f"T1,S1,root,front-end-abc12-xyz89,/pay,{t0},{t0 + 5 * 10**6},5000\n"
    trace += f"T1,S2,S1,pay-service-abc12-xyz89,pay,{t0 + 10**6},{t0 + 4 * 10**6},3000\n"
    _gz(day / "trace" / "22_14_trace.csv.gz", trace)
    metric = "Time,TimeStamp,PodName,CpuUsageRate(%)\n"
    for m in range(-20, 3):
        ts = t0 + m * MINUTE
        stamp = f"2023-11-14 {(22 * 60 + 13 + m) // 60:02d}:{(22 * 60 + 13 + m) % 60:02d}:20.5 +0000 UTC m=+1.0"
        metric += f"{stamp},{ts // 10**9 + 200_000_000},pay-service-abc12-xyz89,{1.0 if m < 0 else 90.0}\n"
    metric += "garbage,,pay-service-abc12-xyz89,abc\n"
    _gz(day / "metric" / "pay-service-abc12-xyz89_metric.csv.gz", metric)
    (root / "cases.csv").write_text(
        "system,case_id,date,inject_time,root_cause_service,fault_type,inner_service_label,window_minutes,"
        "normal_reference_minute\n"
        "shop,c1,2023-11-14,2023-11-14 22:13:20,pay-service,exception,a.b.PayServiceImpl#40_a.b.PayServiceImpl#45,"
        "22_14,\n"
        "shop,c2,2023-11-14,not a time,pay-service,exception,,22_14,\n"
    )
    return root


def test_broken_records_are_problems_and_the_rest_is_kept(tmp_path: Path) -> None:
    root = _mini_nezha(tmp_path)
    sink = RowSink()
    cases = nezha.discover(root, sink=sink)
    assert [c.case_id for c in cases] == ["c1"]
    assert sink.problems[0].line == 3 and "inject_time" in sink.problems[0].reason
    load_sink = RowSink()
    with TelemetryStore() as store:
        loaded = cases[0].load(store, load_sink)
        assert store.scalar("SELECT count(*) FROM logs") == 6
        assert store.scalar("SELECT count(*) FROM spans") == 2
        # `Time` is trusted over a `TimeStamp` 200,000,000 s ahead
        lo, hi = store.rows("SELECT min(ts_ns), max(ts_ns) FROM metrics")[0]
        assert lo == 1_700_000_000 * 10**9 - 20 * MINUTE + 5 * 10**8 and hi < 1_700_000_000 * 10**9 + 3 * MINUTE
    reasons = [str(p) for p in load_sink.problems]
    assert any("22_14_log.csv.gz:8: 10 fields" in r for r in reasons), reasons
    assert any("metric row without a readable time" in r for r in reasons), reasons
    assert loaded.notes == ("no normal-period logs or traces for minute (none)",)
    result = run(Dataset.NEZHA, cases)
    assert result.outcomes[0].error == ""


def test_cli_json_and_errors(rcd_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["bench", "rca", "--dataset", "rcd", str(rcd_dir), "--limit", "2", "--json", "--quiet"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert set(payload) == {"systems", "ece", "median_case_seconds", "fault_free", "cases"}
    assert len(payload["cases"]) == 2 and payload["cases"][0]["predicted"]
    table = runner.invoke(app, ["bench", "rca", "--dataset", "rcd", str(rcd_dir), "--limit", "1"])
    assert table.exit_code == 0 and "AC@1" in table.stdout and "[1/1]" in table.stderr
    missing = runner.invoke(app, ["bench", "rca", "--dataset", "nezha", str(tmp_path / "nope")])
    assert missing.exit_code != 0 and "not a directory" in missing.stderr
    empty = runner.invoke(app, ["bench", "rca", "--dataset", "nezha", str(tmp_path)])
    assert empty.exit_code != 0 and "cases.csv" in empty.stderr and "Traceback" not in empty.output


def test_nezha_fault_free_windows_split_a_reference_minute(nezha_dir: Path) -> None:
    windows = nezha.fault_free_cases(nezha_dir, system="trainticket")
    assert windows and all(c.truth.service == "" and c.truth.fault_type == nezha.FAULT_FREE for c in windows)
    assert len({c.case_id for c in windows}) == len(windows)
    with TelemetryStore() as store:
        loaded = windows[0].load(store, RowSink())
        w = loaded.windows
        # first half normal, second half "incident", alert at the split; both halves hold spans
        assert w.baseline.end_ns == w.incident.start_ns == w.alert_ns
        assert store.scalar("SELECT count(*) FROM spans WHERE start_ns < ?", [w.alert_ns])
        assert store.scalar("SELECT count(*) FROM spans WHERE start_ns >= ?", [w.alert_ns])
    result = run(Dataset.NEZHA, [], fault_free=windows[:1])
    assert result.outcomes == [] and len(result.fault_free) == 1
    assert report_json(result)["fault_free"]["windows"] == 1


def test_nezha_edge_files_become_istio_labelled_edge_series(nezha_dir: Path) -> None:
    case = nezha.discover(nezha_dir, system="onlineboutique")[0]
    sink = RowSink()
    with TelemetryStore() as store:
        case.load(store, sink)
        rows = store.rows(
            "SELECT DISTINCT service, json_extract_string(labels, '$.source_workload'),"
            " json_extract_string(labels, '$.destination_workload'), json_extract_string(labels, '$.reporter')"
            " FROM metrics WHERE name = $1",
            [nezha.EDGE_METRIC],
        )
    reporters = {r[3] for r in rows}
    assert reporters == {"source", "destination"}
    assert all(service == callee and caller and caller != callee for service, caller, callee, _ in rows)
    assert ("frontend", "checkoutservice") in {(r[1], r[2]) for r in rows}
    assert not [p for p in sink.problems if "edge" in p.reason]
