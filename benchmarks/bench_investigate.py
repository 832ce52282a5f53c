"""End-to-end benchmark: simulate a large bundle, then ingest and investigate it in a fresh process.

Reports wall time and peak resident memory of the `incidentlens investigate` process, plus the row counts.
Usage: python benchmarks/bench_investigate.py [--scale X] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from incidentlens.simulate import DEFAULT_FAULT, simulate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=None, help="traffic multiplier (default: 1M-log-line size)")
    parser.add_argument("--fault", default=DEFAULT_FAULT)
    parser.add_argument("--trace-sample", type=float, default=None, help="share of traces kept (default: 0.05)")
    parser.add_argument("--keep", type=Path, default=None, help="write the bundle here and keep it")
    args = parser.parse_args()
    from incidentlens.simulate import BENCHMARK_SCALE, BENCHMARK_TRACE_SAMPLE

    scale = args.scale if args.scale is not None else BENCHMARK_SCALE
    if args.trace_sample is None:
        args.trace_sample = BENCHMARK_TRACE_SAMPLE
    with tempfile.TemporaryDirectory(prefix="incidentlens-bench-") as tmp:
        bundle = args.keep or Path(tmp) / "bundle"
        t0 = time.perf_counter()
        simulate(args.fault, seed=11, out=bundle, scale=scale, trace_sample=args.trace_sample)
        gen_s = time.perf_counter() - t0
        out_json = Path(tmp) / "brief.json"
        cmd = [
            sys.executable,
            "-m",
            "incidentlens",
            "--workspace",
            str(Path(tmp) / "ws"),
            "investigate",
            str(bundle),
            "--format",
            "json",
            "--out",
            str(out_json),
            "--no-record",
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t1 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - t1
        peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
        brief = orjson.loads(out_json.read_bytes())
        truth = orjson.loads((bundle / "truth.json").read_bytes())
    inputs = brief["inputs"]
    top = brief["hypotheses"][0]["service"] if brief["hypotheses"] else None
    print(f"scale {scale}: generated in {gen_s:.1f} s")
    print(
        f"rows: logs {inputs.get('logs', 0):,}, spans {inputs.get('spans', 0):,}, metrics {inputs.get('metrics', 0):,}"
    )
    print(f"ingest + investigate: {wall:.1f} s wall, peak RSS {peak_mb:.0f} MB")
    print(f"top hypothesis {top}; truth {truth['service']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
