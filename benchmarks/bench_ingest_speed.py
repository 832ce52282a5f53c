"""Ingest speed and memory against DuckDB's own readers, and end to end before/after, on simulated bundles.

    PYTHONPATH=src python benchmarks/bench_ingest_speed.py --sizes 0.1,0.3,1 --before-src /work/main/src

For each size (millions of log lines) a bundle is simulated once (`incidentlens simulate --fault
bad_deploy_exception --seed 1 --scale S --trace-sample R`, about 15,230 log lines per unit of scale) and kept
in `--work`. Then, side by side in one run, each in its own process so memory is its own:
- logs: the tool's reader into an in-memory store (and, with `--before-src`, the other tree's) vs DuckDB
  `read_json_auto` of the same files into a table;
- spans: the tool's OTLP reader (and, with `--before-src`, the other tree's) vs DuckDB `read_json` + `unnest` of
  resourceSpans/scopeSpans/spans;
- end to end: `incidentlens investigate BUNDLE --no-record --no-memory --format json`, wall time and peak RSS
  (`/usr/bin/time -v`), for these sources and, with `--before-src`, another source tree (e.g. main's),
  alternating so machine load hits both alike.
Growth exponents (slope of log time and log memory over log lines) close the report. Timing on a shared
machine is noisy: compare columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

LINES_PER_SCALE = 15_230
PY = sys.executable

_TOOL_LOGS = """
import sys, time
from pathlib import Path
from incidentlens.ingest.runner import ingest_paths
from incidentlens.telemetry.store import TelemetryStore
store = TelemetryStore()
t = time.perf_counter()
ingest_paths([Path(p) for p in sys.argv[1:]], store)
print(time.perf_counter() - t, sum(store.counts().values()))
"""

_DUCKDB_LOGS = """
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_json_auto(?, union_by_name = true)", [sys.argv[1:]])
print(time.perf_counter() - t, con.execute("SELECT count(*) FROM t").fetchone()[0])
"""

_DUCKDB_SPANS = """
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute(
    "CREATE TABLE s AS SELECT sp.* FROM (SELECT unnest(ss.spans) AS sp FROM (SELECT unnest(rs.scopeSpans) AS ss"
    " FROM (SELECT unnest(resourceSpans) AS rs FROM read_json(?, format = 'newline_delimited',"
    " maximum_object_size = 268435456))))", [sys.argv[1]]
)
print(time.perf_counter() - t, con.execute("SELECT count(*) FROM s").fetchone()[0])
"""


def simulate(work: Path, millions: float, sample: float, src: Path) -> Path:
    scale = round(millions * 1e6 / LINES_PER_SCALE, 2)
    bundle = work / f"bundle-{millions:g}M-{sample:g}"
    if not (bundle / "truth.json").exists():
        print(f"simulating {bundle.name} (scale {scale}, trace sample {sample}) ...", flush=True)
        subprocess.run(
            [PY, "-m", "incidentlens", "simulate", "--fault", "bad_deploy_exception", "--seed", "1",
             "--scale", str(scale), "--trace-sample", str(sample), "--out", str(bundle)],
            env=_env(src), check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return bundle


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def timed(args: list[str], src: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of a process, measured by /usr/bin/time -v."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *args], env=_env(src), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        said = done.stderr.split("\tCommand being timed:", 1)[0].strip().splitlines()  # the tool's own words
        return wall, math.nan, f"FAILED ({done.returncode}): {said[-3:]}"
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return wall, (int(rss[1]) / 1024 if rss else math.nan), done.stdout


def script(code: str, args: list[str], src: Path) -> tuple[float, float, int]:
    """(seconds the script reports, peak RSS MB, rows)."""
    _, rss, out = timed([PY, "-c", code, *args], src)
    try:
        seconds, rows = out.strip().splitlines()[-1].split()[:2]
        return float(seconds), rss, int(rows)
    except ValueError:
        print(out, file=sys.stderr)
        return math.nan, rss, 0


def side_by_side(what: str, tool: tuple[float, float, int], floor: str, duck: tuple[float, float, int]) -> None:
    print(
        f"{what}: tool {tool[0]:7.2f} s {tool[1]:6.0f} MB ({tool[2]} rows) | DuckDB {floor} {duck[0]:7.2f} s"
        f" {duck[1]:6.0f} MB ({duck[2]} rows) | ratio {tool[0] / duck[0]:5.2f}x",
        flush=True,
    )


def exponent(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y over log x."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if y > 0 and not math.isnan(y)]
    if len(pts) < 2:
        return math.nan
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0.1,0.3,1", help="millions of log lines, comma-separated")
    parser.add_argument("--trace-sample", type=float, default=0.05)
    parser.add_argument("--work", type=Path, default=Path("/tmp/incidentlens-bench-ingest"))
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    parser.add_argument("--before-src", type=Path, help="another source tree to run end to end beside this one")
    parser.add_argument("--no-readers", action="store_true", help="skip the reader-vs-DuckDB comparison")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end runs")
    parser.add_argument("--memory-limit", default="", help="pass --memory-limit to the tool's investigate")
    opts = parser.parse_args()
    opts.work.mkdir(parents=True, exist_ok=True)
    sizes = [float(s) for s in opts.sizes.split(",")]
    trees = [("after", opts.src)] + ([("before", opts.before_src)] if opts.before_src else [])
    e2e: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in trees}
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start (shared machine: noisy)")
    for millions in sizes:
        bundle = simulate(opts.work, millions, opts.trace_sample, opts.src)
        logs = sorted(str(p) for p in (bundle / "logs").glob("*.jsonl"))
        traces = str(bundle / "traces" / "traces.otlp.jsonl")
        print(f"\n== {millions:g} M log lines, trace sample {opts.trace_sample:g} ({bundle})", flush=True)
        if not opts.no_readers:
            tool_s, tool_mb, tool_rows = script(_TOOL_LOGS, logs, opts.src)
            duck_s, duck_mb, duck_rows = script(_DUCKDB_LOGS, logs, opts.src)
            side_by_side("logs ", (tool_s, tool_mb, tool_rows), "read_json_auto", (duck_s, duck_mb, duck_rows))
            if opts.before_src:  # the same logs through the other tree's readers, in the same run
                before = script(_TOOL_LOGS, logs, opts.before_src)
                side_by_side("logs (before)", before, "read_json_auto", (duck_s, duck_mb, duck_rows))
            tool_s, tool_mb, tool_rows = script(_TOOL_LOGS, [traces], opts.src)
            duck_s, duck_mb, duck_rows = script(_DUCKDB_SPANS, [traces], opts.src)
            side_by_side("spans", (tool_s, tool_mb, tool_rows), "read_json+unnest", (duck_s, duck_mb, duck_rows))
            if opts.before_src:  # the same spans file through the other tree's readers, in the same run
                before = script(_TOOL_LOGS, [traces], opts.before_src)
                side_by_side("spans (before)", before, "read_json+unnest", (duck_s, duck_mb, duck_rows))
        if opts.no_e2e:
            continue
        for name, src in trees:
            extra = ["--memory-limit", opts.memory_limit] if opts.memory_limit and name == "after" else []
            wall, rss, out = timed(
                [PY, "-m", "incidentlens", "--workspace", str(opts.work / f"ws-{name}"), "investigate", str(bundle),
                 "--no-record", "--no-memory", "--format", "json", *extra], src,
            )  # fmt: skip
            verdict = "ok" if '"summary"' in out else out[:120]
            e2e[name].append((wall, rss))
            print(f"end to end {name:6}: {wall:7.2f} s, peak RSS {rss:6.0f} MB ({verdict})", flush=True)
    if not opts.no_e2e and len(sizes) > 1:
        lines = [m * 1e6 for m in sizes]
        print("\ngrowth exponents over", ", ".join(f"{m:g} M" for m in sizes), "lines:")
        for name, runs in e2e.items():
            t_exp = exponent(lines, [w for w, _ in runs])
            m_exp = exponent(lines, [r for _, r in runs])
            print(f"  {name:6}: time ~ lines^{t_exp:.2f}, memory ~ lines^{m_exp:.2f}")


if __name__ == "__main__":
    main()
