"""Scale benchmark: investigate a simulated fleet where it lives (ClickHouse) instead of copying it.

For each size (spans; the same number of log lines) it generates one hour of a fleet in the OpenTelemetry
exporter's MergeTree tables in a chdb database, in SQL (numbers()/rand, in a separate process): 11 services,
traces of 10 spans (frontend -> cart -> redis, and three fan-out calls whose callee varies by trace), one log
line per span with per-request ids in the message, gauges every 15 s; after 45 minutes a bad deploy makes
30 % of cart's GetCart calls fail (error spans, ERROR logs with a Java stack trace, its error-ratio gauge).
Then one investigation per mode, each in a fresh process reporting its wall time and peak RSS:

- `pushdown`: the ClickHouse source on `chdb:DIR` (the engine runs inside the IncidentLens process, so its
  memory counts in the RSS);
- `http`: the same source on `http://127.0.0.1:PORT`, ClickHouse's HTTP interface served from chdb in a
  separate process (`tests/sources/chdb_http_server.py`): the IncidentLens process alone;
- `copy`: today's copy-everything path: every row of the window read out of ClickHouse into the in-memory
  DuckDB store, then the usual investigation; skipped for larger sizes once it fails or exceeds `--copy-limit`.

Usage: python benchmarks/bench_clickhouse_scale.py [--sizes 1M,5M,20M] [--modes pushdown,http,copy] [--dir D]
(`make bench-scale`). Data is generated once per size into `--dir` (default: a temporary directory).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

MINUTE_NS = 60_000_000_000
T0_NS = 1_794_128_400_000_000_000  # 2026-11-08 09:00 UTC
SPAN_HOUR_NS = 60 * MINUTE_NS
ONSET_NS = T0_NS + 45 * MINUTE_NS
ALERT_NS = ONSET_NS + 2 * MINUTE_NS
SERVER = Path(__file__).resolve().parent.parent / "tests" / "sources" / "chdb_http_server.py"
# Query settings for this 2-core machine. In process (`pushdown`) the engine's memory is the process's, so
# groupings and sorts spill to disk past ~300 MB (parent/child analyses are groupings, not joins, so they spill
# too); a server (`http`) keeps its own memory and runs with its defaults.
CLICKHOUSE_SETTINGS: dict[str, dict[str, int]] = {
    "pushdown": {
        "max_threads": 2,
        "max_bytes_before_external_group_by": 300_000_000,
        "max_bytes_before_external_sort": 300_000_000,
    },
    "http": {"max_threads": 2},
}

# Slot: (service expression, span name expression, kind, parent slot, peer.service expression)
_GROUPS = (
    "['productcatalog', 'ad', 'shipping'], ['currency', 'payment', 'email'], ['recommendation', 'quote', 'accounting']"
)


def _generate_sql(traces: int) -> list[str]:
    """INSERT ... SELECT statements producing `traces` x 10 spans, as many log lines, and the gauges."""
    step = SPAN_HOUR_NS // traces
    per_trace = (
        f"SELECT number AS t, toInt64({T0_NS} + number * {step} + (cityHash64(number, 'j') % {max(step, 1)})) AS t0,"
        " lower(concat(hex(cityHash64(number, 'a')), hex(cityHash64(number, 'b')))) AS trace_id,"
        " arrayMap(i -> lower(hex(cityHash64(number, i))), range(10)) AS ids,"
        f" t0 >= {ONSET_NS} AND cityHash64(number, 'fault') % 100 < 30 AS failed,"
        " arrayMap(i -> exp((cityHash64(number, i, 'd') % 1000) / 1000.0 * 0.6 - 0.3), range(10)) AS f,"
        f" number % 3 AS g, [{_GROUPS}] AS groups,"
        # durations in ns of the leaf-ish server spans: cart, redis, group A, B, C
        " toInt64(3000000 * f[3]) AS d_cart, toInt64(500000 * f[4]) AS d_redis, toInt64(4000000 * f[6]) AS d_a,"
        " toInt64(1000000 * f[8]) AS d_b, toInt64(6000000 * f[10]) AS d_c, 400000 AS gap,"
        " ['frontend', 'frontend', 'cart', 'cart', 'frontend', groups[1][g + 1], 'frontend', groups[2][g + 1],"
        "  'frontend', groups[3][g + 1]] AS services,"
        " ['HTTP GET /api/cart', 'oteldemo.CartService/GetCart', 'oteldemo.CartService/GetCart', 'HGET',"
        "  concat('call ', groups[1][g + 1]), concat(groups[1][g + 1], '.Handle'), concat('call ', groups[2][g + 1]),"
        "  concat(groups[2][g + 1], '.Handle'), concat('call ', groups[3][g + 1]), concat(groups[3][g + 1], '.Handle')]"
        " AS names,"
        " ['Server', 'Client', 'Server', 'Client', 'Client', 'Server', 'Client', 'Server', 'Client',"
        " 'Server'] AS kinds,"
        " [0, 1, 2, 3, 1, 5, 1, 7, 1, 9] AS parents,"
        " arrayMap(x -> toInt64(x), [0, 100000, 100000 + gap / 2, 100000 + gap / 2 + 200000, 100000"
        " + d_cart + gap + 50000,"
        "  100000 + d_cart + gap + 50000 + gap / 2, 100000 + d_cart + d_a + 2 * gap + 100000,"
        "  100000 + d_cart + d_a + 2 * gap + 100000 + gap / 2, 100000 + d_cart + d_a + d_b + 3 * gap + 150000,"
        "  100000 + d_cart + d_a + d_b + 3 * gap + 150000 + gap / 2]) AS starts,"
        " arrayMap(x -> toInt64(x), [d_cart + d_a + d_b + d_c + 4 * gap + 300000, d_cart + gap,"
        " d_cart, d_redis, d_a + gap, d_a, d_b + gap, d_b,"
        "  d_c + gap, d_c]) AS durs,"
        " [if(failed, 'Error', 'Unset'), if(failed, 'Error', 'Unset'), if(failed, 'Error', 'Unset'), 'Unset', 'Unset',"
        "  'Unset', 'Unset', 'Unset', 'Unset', 'Unset'] AS statuses"
        f" FROM numbers({traces})"
    )
    traces_sql = (
        "INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName,"
        " ResourceAttributes, SpanAttributes, Duration, StatusCode, StatusMessage)"
        " SELECT fromUnixTimestamp64Nano(t0 + starts[i], 'UTC'), trace_id, ids[i],"
        " if(parents[i] = 0, '', ids[parents[i]]), names[i], kinds[i], services[i],"
        " map('service.name', services[i], 'k8s.pod.name', concat(services[i], '-', toString(t % 3))),"
        " multiIf(i = 2, map('peer.service', 'cart', 'rpc.system', 'grpc'), i = 4, map('db.system', 'redis'),"
        "  i IN (5, 7, 9), map('peer.service', services[i + 1]), map('http.route', '/api/cart')),"
        " toUInt64(durs[i]), statuses[i], if(statuses[i] = 'Error' AND i = 3, 'cart store unavailable', '')"
        f" FROM ({per_trace}) ARRAY JOIN range(1, 11) AS i"
    )
    stack = (
        "concat('GetCart failed: java.lang.IllegalStateException: cart store unavailable\\n',"
        " '\\tat oteldemo.cart.CartStore.get(CartStore.java:88)\\n',"
        " '\\tat oteldemo.cart.CartService.getCart(CartService.java:41)\\n',"
        " '\\tat io.grpc.stub.ServerCalls$UnaryServerCallHandler.invoke(ServerCalls.java:182)')"
    )
    logs_sql = (
        "INSERT INTO otel_logs (Timestamp, TraceId, SpanId, SeverityText, SeverityNumber, ServiceName, Body,"
        " ResourceAttributes, LogAttributes)"
        " SELECT fromUnixTimestamp64Nano(t0 + starts[i] + 50000, 'UTC'), trace_id, ids[i],"
        " if(i = 3 AND failed, 'ERROR', 'INFO'), if(i = 3 AND failed, 17, 9), services[i],"
        f" multiIf(i = 3 AND failed, {stack},"
        "  i = 3, concat('GetCart called for user_id=', lower(hex(cityHash64(t, 'u') % 1000000007))),"
        "  kinds[i] = 'Server', concat(names[i], ' handled request_id=', lower(hex(cityHash64(t, i, 'r'))),"
        "   ' in ', toString(intDiv(durs[i], 1000)), 'us'),"
        "  concat('calling ', names[i], ' attempt=1 deadline_ms=', toString(200 + t % 50)))"
        " , map('service.name', services[i]),"
        " if(i = 3 AND failed, map('exception.type', 'java.lang.IllegalStateException', 'logger.name',"
        "  'oteldemo.cart.CartService'), map('logger.name', concat('oteldemo.', services[i], '.Handler')))"
        f" FROM ({per_trace}) ARRAY JOIN range(1, 11) AS i"
    )
    services = (
        "['frontend', 'cart', 'productcatalog', 'ad', 'shipping', 'currency', 'payment', 'email',"
        " 'recommendation', 'quote', 'accounting']"
    )
    gauges_sql = (
        "INSERT INTO otel_metrics_gauge (ServiceName, MetricName, Attributes, TimeUnix, Value, ResourceAttributes)"
        " SELECT s, m, map('service', s, 'pod', concat(s, '-', toString(p))),"
        f" fromUnixTimestamp64Nano(toInt64({T0_NS} + number * 15000000000), 'UTC'),"
        " if(m = 'rpc_server_error_ratio',"
        f"  if(s = 'cart' AND {T0_NS} + number * 15000000000 >= {ONSET_NS}, 0.3, 0.001)"
        "  + (cityHash64(number, s, p) % 100) / 100000.0, 0.5 + (cityHash64(number, s, p, 'c') % 100) / 1000.0),"
        f" map('service.name', s) FROM numbers(240) ARRAY JOIN {services} AS s ARRAY JOIN [0, 1, 2] AS p"
        " ARRAY JOIN ['rpc_server_error_ratio', 'process_cpu_utilization'] AS m"
    )
    return [traces_sql, logs_sql, gauges_sql]


def generate(db: Path, spans: int) -> float:
    """Create the exporter's tables in `db` and fill them (in a child process: chdb's memory stays there)."""
    if (db / "READY").exists():
        return 0.0
    shutil.rmtree(db, ignore_errors=True)
    db.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child-generate", str(db), str(spans)], check=True)
    (db / "READY").write_text(str(spans))
    return time.perf_counter() - started


def _child_generate(db: Path, spans: int) -> None:
    from incidentlens.telemetry.clickhouse_connection import connect
    from incidentlens.telemetry.clickhouse_ddl import create_statements

    conn = connect(f"chdb:{db}")
    for statement in create_statements():
        conn.command(statement)
    for statement in _generate_sql(spans // 10):
        conn.command(statement + (" SETTINGS max_threads = 2" if "SETTINGS" not in statement else ""))
    for table in ("otel_traces", "otel_logs", "otel_metrics_gauge"):
        conn.command(f"OPTIMIZE TABLE {table} FINAL")
    conn.close()


def _alert_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "alert.json"
    starts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ALERT_NS // 1_000_000_000))
    alert = {
        "labels": {"alertname": "FrontendHighErrorRate", "service": "frontend", "severity": "page"},
        "annotations": {"summary": "frontend error ratio above 5% for 2m"},
        "startsAt": starts,
        "status": "firing",
    }
    path.write_bytes(orjson.dumps({"version": "4", "status": "firing", "alerts": [alert]}))
    return path


def _child_investigate(mode: str, target: str, alert: Path) -> None:
    """One investigation in this process; prints a JSON line with its figures."""
    started = time.perf_counter()
    from incidentlens.investigation import InvestigationRequest, TimeWindow, run
    from incidentlens.sources.clickhouse import ClickHouseSource
    from incidentlens.sources.config import parse_source
    from incidentlens.sources.files import FileSource

    window = TimeWindow(since_ns=T0_NS, until_ns=T0_NS + SPAN_HOUR_NS)
    files = FileSource.of([alert])
    if mode == "copy":
        result = _copy_everything(Path(target), files, window)
    else:
        config = parse_source(
            "otel", {"kind": "clickhouse", "url": target, "timeout_seconds": 600, "settings": CLICKHOUSE_SETTINGS[mode]}
        )
        result = run(InvestigationRequest(sources=(files, ClickHouseSource(config)), window=window))
    wall = time.perf_counter() - started
    top = result.hypotheses[0] if result.hypotheses else None
    print(
        orjson.dumps(
            {
                "wall_s": round(wall, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
                "leading": top.service if top else None,
                "confidence": round(top.confidence, 2) if top else None,
                "inputs": {k: v for k, v in result.brief.inputs.items() if k in ("spans", "logs", "metrics")},
            }
        ).decode(),
        flush=True,
    )


def _copy_everything(db: Path, files: object, window: object) -> object:
    """Today's path for a backend without pushdown: every row of the window into the in-memory DuckDB store."""
    from incidentlens.investigation import InvestigationRequest
    from incidentlens.investigation.run import run_on_store
    from incidentlens.telemetry.clickhouse_connection import connect
    from incidentlens.telemetry.store import TelemetryStore

    conn = connect(f"chdb:{db}")
    store = TelemetryStore()
    with tempfile.TemporaryDirectory(prefix="incidentlens-copy-") as tmp:
        for table, sql in _copy_sql().items():
            out = Path(tmp) / f"{table}.parquet"
            conn.command(f"{sql} INTO OUTFILE '{out}' FORMAT Parquet SETTINGS max_threads = 2")
            store.rows(f"INSERT INTO {table} SELECT * FROM read_parquet('{out}')")
            out.unlink()
    conn.close()
    return run_on_store(store, InvestigationRequest(sources=(files,), window=window))  # type: ignore[arg-type]


def _copy_sql() -> dict[str, str]:
    return {
        "spans": "SELECT TraceId, SpanId, ParentSpanId, toString(ServiceName), toString(SpanName),"
        " upper(toString(SpanKind)), toUnixTimestamp64Nano(Timestamp), toUnixTimestamp64Nano(Timestamp) + Duration,"
        " upper(toString(StatusCode)), StatusMessage, toJSONString(SpanAttributes), '[]', '' FROM otel_traces",
        "logs": "SELECT toUnixTimestamp64Nano(Timestamp), toString(ServiceName), upper(SeverityText), Body, TraceId,"
        " SpanId, LogAttributes['logger.name'], LogAttributes['exception.type'], '', toJSONString(LogAttributes), ''"
        " FROM otel_logs",
        "metrics": "SELECT toUnixTimestamp64Nano(TimeUnix), toString(ServiceName), MetricName,"
        " toJSONString(Attributes), Value, '' FROM otel_metrics_gauge",
    }


def investigate(mode: str, db: Path, alert: Path, timeout: float) -> dict[str, object]:
    server = None
    target = f"chdb:{db}" if mode == "pushdown" else str(db)
    try:
        if mode == "http":
            server = subprocess.Popen([sys.executable, str(SERVER), str(db), "0"], stdout=subprocess.PIPE, text=True)
            line = server.stdout.readline() if server.stdout else ""
            if not line.startswith("ready "):
                return {"error": "the chdb HTTP server did not start"}
            target = f"http://127.0.0.1:{line.split()[1]}"
        proc = subprocess.run(
            [sys.executable, __file__, "--child-investigate", mode, target, str(alert)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:.0f} s"}
    finally:
        if server is not None:
            server_peak_mb = _peak_rss_mb(server.pid)
            server.terminate()
            server.wait(timeout=30)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {proc.returncode}: {tail[:200]}"}
    figures: dict[str, object] = orjson.loads(proc.stdout.strip().splitlines()[-1])
    if server is not None:
        figures["server_peak_rss_mb"] = server_peak_mb
    return figures


def _peak_rss_mb(pid: int) -> int | None:
    """A live process's peak resident memory (Linux `VmHWM`), for the server beside the measured process."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def _size(text: str) -> int:
    text = text.strip().upper()
    factor = 1_000_000 if text.endswith("M") else 1_000 if text.endswith("K") else 1
    return int(float(text.rstrip("MK")) * factor)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-generate":
        _child_generate(Path(sys.argv[2]), int(sys.argv[3]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--child-investigate":
        _child_investigate(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,5M,20M", help="spans per database (as many log lines)")
    parser.add_argument("--modes", default="pushdown,http,copy")
    parser.add_argument("--dir", type=Path, default=None, help="keep generated databases here (reused when present)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per investigation")
    parser.add_argument(
        "--copy-limit",
        type=_size,
        default=5_000_000,
        help="largest size the copy path tries (it needs ~1.2 GB per M rows)",
    )
    args = parser.parse_args()
    try:
        import chdb  # noqa: F401
    except ImportError:
        print("needs the clickhouse extra: pip install 'incidentlens[clickhouse]'", file=sys.stderr)
        return 2
    root = args.dir or Path(tempfile.mkdtemp(prefix="incidentlens-scale-"))
    alert = _alert_file(root / "alert")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    copy_failed = False
    print(f"machine: {os.cpu_count()} cores; data in {root}", flush=True)
    print(f"{'spans':>8} {'logs':>8} {'mode':>9} {'wall s':>7} {'cpu s':>6} {'peak RSS MB':>11}  result", flush=True)
    for size in [_size(s) for s in args.sizes.split(",")]:
        db = root / f"fleet-{size}"
        gen = generate(db, size)
        if gen:
            print(f"{size:>8} generated in {gen:.0f} s", flush=True)
        for mode in modes:
            if mode == "copy" and (copy_failed or size > args.copy_limit):
                print(f"{size:>8} {size:>8} {mode:>9} {'-':>7} {'-':>6} {'-':>11}  skipped", flush=True)
                continue
            figures = investigate(mode, db, alert, args.timeout)
            if "error" in figures:
                copy_failed = copy_failed or mode == "copy"
                print(f"{size:>8} {size:>8} {mode:>9} {'-':>7} {'-':>6} {'-':>11}  {figures['error']}", flush=True)
                continue
            print(
                f"{size:>8} {size:>8} {mode:>9} {figures['wall_s']:>7} {figures['cpu_s']:>6}"
                f" {figures['peak_rss_mb']:>11}"
                f"  leading {figures['leading']} ({figures['confidence']}), inputs {figures['inputs']}"
                + (f", ClickHouse server peak RSS {figures['server_peak_rss_mb']} MB" if mode == "http" else ""),
                flush=True,
            )
    if args.dir is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
