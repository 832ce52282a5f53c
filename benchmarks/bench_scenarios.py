"""Top-1 accuracy of the root-cause service over every simulated fault type and several seeds, and the
abstention rate on fault-free bundles (fault `none`): there, "not enough evidence" is the right answer.

Usage: python benchmarks/bench_scenarios.py [--seeds 1 2 3 4 5] [--normal 20] [--json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import orjson

from incidentlens.investigation import InvestigationRequest, run
from incidentlens.simulate import FAULTS, simulate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--normal", type=int, default=20, help="fault-free bundles (seeds 1..N)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, list[dict[str, object]]] = {}
    started = time.perf_counter()
    for fault in sorted(f for f in FAULTS if f != "none"):
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                bundle = Path(tmp) / "bundle"
                truth = simulate(fault, seed=seed, out=bundle)
                t0 = time.perf_counter()
                result = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo"))
                seconds = time.perf_counter() - t0
            ranked = [h.service for h in result.hypotheses]
            results.setdefault(fault, []).append(
                {
                    "seed": seed,
                    "truth": truth.service,
                    "ranked": ranked[:3],
                    "top1": bool(ranked and ranked[0] == truth.service),
                    "confidence": result.hypotheses[0].confidence if result.hypotheses else 0.0,
                    "seconds": round(seconds, 2),
                }
            )
    false_alarms: list[str] = []
    for seed in range(1, args.normal + 1):
        with tempfile.TemporaryDirectory() as tmp:
            bundle = Path(tmp) / "bundle"
            simulate("none", seed=seed, out=bundle)
            normal = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo"))
        if not normal.brief.abstained:
            top = normal.hypotheses[0]
            false_alarms.append(f"seed {seed}: {top.service} ({top.confidence:.2f})")
    abstained = args.normal - len(false_alarms)
    total = sum(len(v) for v in results.values())
    hits = sum(1 for v in results.values() for r in v if r["top1"])
    if args.json:
        sys.stdout.write(
            orjson.dumps(
                {
                    "faults": results,
                    "top1_rate": hits / total,
                    "fault_free": {"bundles": args.normal, "abstained": abstained, "false_alarms": false_alarms},
                },
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
        return 0
    print(f"{'fault':30s} top-1   misses (seed: ranked)")
    for fault, rows in results.items():
        ok = sum(1 for r in rows if r["top1"])
        misses = "; ".join(f"{r['seed']}: {r['ranked']} vs {r['truth']}" for r in rows if not r["top1"])
        print(f"{fault:30s} {ok}/{len(rows)}     {misses}")
    print(f"overall top-1: {hits}/{total} = {hits / total:.1%} ({time.perf_counter() - started:.0f} s)")
    if args.normal:
        print(f"fault-free bundles: abstained {abstained}/{args.normal}" + "".join(f"\n  {f}" for f in false_alarms))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
