"""Metrics ingest speed: the per-record readers vs the DuckDB-reader path vs DuckDB's bare readers, on big files.

    PYTHONPATH=src python benchmarks/bench_metrics_ingest.py --samples 3000000

Two files are generated once into `--work` (seeded, so every run reads the same bytes):
- a Prometheus `query_range` answer (one compact JSON document, as the HTTP API writes it): `--samples` samples
  in series of 1,000 points 15 s apart, labels `__name__`, `service`, `pod`, `instance`, `method`, values as
  Prometheus writes them (about 1 in 1,000 "NaN");
- a wide CSV file: a time column (epoch seconds) and 50 series columns, `--samples` cells, about 1 in 100 empty.
Each file is then read three ways, one after the other, each in its own process so memory is its own: the
tool's per-record reader (`RowSink` without the store's engine), the tool with its DuckDB-reader path
(`ingest_paths`, as `incidentlens ingest` runs it), and DuckDB's bare reader into a table (`read_json` with the
same explicit columns and `unnest`, or `read_csv` + `UNPIVOT`) as the floor. Seconds as each process reports
them (reading only), peak RSS of the process. Timing on a shared machine is noisy: compare columns of one run.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest_speed import script

_READ = """
import sys, time
from pathlib import Path
from incidentlens.ingest.runner import ingest_paths, read_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.telemetry.store import TelemetryStore
store = TelemetryStore()
path, fmt, engine = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "engine"
t = time.perf_counter()
if engine:
    ingest_paths([path], store, forced_format=fmt)
else:
    with store.transaction():
        sink = RowSink()
        sink.attach(store.append_buffer, None)
        read_paths([path], sink, forced_format=fmt)
        store.append(sink)
print(time.perf_counter() - t, store.counts()["metrics"])
"""

_DUCKDB_JSON = """
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
series = 'STRUCT(metric MAP(VARCHAR, JSON), "values" VARCHAR[][])'
t = time.perf_counter()
con.execute(
    "CREATE TABLE m AS SELECT s.metric AS metric, p[1] AS t, p[2] AS v FROM (SELECT unnest(data.result) AS s"
    f" FROM read_json(?, format = 'unstructured', columns = {{'data': 'STRUCT(result {series}[])'}},"
    " maximum_object_size = 1073741824)), unnest(s.values) AS u(p)", [sys.argv[1]]
)
print(time.perf_counter() - t, con.execute("SELECT count(*) FROM m").fetchone()[0])
"""

_DUCKDB_CSV = """
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute(
    "CREATE TABLE m AS UNPIVOT (SELECT * FROM read_csv(?, header = true, delim = ',', quote = '\\"',"
    " all_varchar = true)) ON COLUMNS(* EXCLUDE (time)) INTO NAME name VALUE value", [sys.argv[1]]
)
print(time.perf_counter() - t, con.execute("SELECT count(*) FROM m").fetchone()[0])
"""


def prometheus_file(path: Path, samples: int) -> Path:
    """A query_range answer of `samples` samples (written once; seeded)."""
    if path.exists():
        return path
    rng = random.Random(1)
    start = 1_700_000_000.123
    result = []
    for i in range(max(1, samples // 1000)):
        service = f"svc{i % 40}"
        labels = {"__name__": f"http_requests_{i % 7}", "service": service, "pod": f"{service}-7d9f8c-{i:05d}",
                  "instance": f"10.0.{i % 250}.{i % 7}:9090", "method": "GET"}  # fmt: skip
        values = [
            [round(start + k * 15, 3), "NaN" if rng.random() < 0.001 else repr(round(rng.random() * 100, 4))]
            for k in range(1000)
        ]
        result.append({"metric": labels, "values": values})
    path.write_bytes(orjson.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}))
    return path


def wide_csv_file(path: Path, samples: int, columns: int = 50) -> Path:
    """A wide CSV of `samples` cells in `columns` series (written once; seeded)."""
    if path.exists():
        return path
    rng = random.Random(1)
    names = [f"svc{c % 10}_metric_{c}" for c in range(columns)]
    with path.open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["time", *names])
        for row in range(max(1, samples // columns)):
            cells = ["" if rng.random() < 0.01 else repr(round(rng.random() * 1000, 3)) for _ in names]
            out.writerow([1_700_000_000 + row * 15, *cells])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=3_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/incidentlens-bench-metrics"))
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    opts = parser.parse_args()
    opts.work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start (shared machine: noisy)")
    files = [
        (
            "prometheus",
            prometheus_file(opts.work / f"prom-{opts.samples}.json", opts.samples),
            _DUCKDB_JSON,
            "read_json",
        ),
        ("widecsv", wide_csv_file(opts.work / f"wide-{opts.samples}.csv", opts.samples), _DUCKDB_CSV, "read_csv"),
    ]
    for fmt, path, floor, floor_name in files:
        size = path.stat().st_size / 1e6
        python = script(_READ, [str(path), fmt, "python"], opts.src)
        engine = script(_READ, [str(path), fmt, "engine"], opts.src)
        duck = script(floor, [str(path)], opts.src)
        print(f"\n== {fmt}: {path.name}, {size:.0f} MB", flush=True)
        for name, (seconds, rss, rows) in (("per-record reader", python), ("engine path", engine), (floor_name, duck)):
            print(
                f"{name:>18}: {seconds:7.2f} s {rss:6.0f} MB peak  {rows} rows  ({seconds / duck[0]:5.2f}x the floor)"
            )


if __name__ == "__main__":
    main()
