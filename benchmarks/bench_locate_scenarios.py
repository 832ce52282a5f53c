"""Code location on simulated incidents: top located region, top suspect commit and owner against the truth.

For every fault whose truth names a commit and file, over several seeds, investigates the bundle with its
repository and checks the leading hypothesis: does its first location fall on the faulty lines, is its first
suspect commit the one that introduced the fault, and is its first owner the true owner?
Usage: python benchmarks/bench_locate_scenarios.py [--seeds 1 2 3 4 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from incidentlens.investigation import InvestigationRequest, run
from incidentlens.simulate import FAULTS, simulate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    args = parser.parse_args()
    totals = {"region": 0, "commit": 0, "owner": 0, "cases": 0}
    for fault in sorted(f for f in FAULTS if f != "none"):
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                bundle = Path(tmp) / "bundle"
                truth = simulate(fault, seed=seed, out=bundle)
                if not truth.commit or not truth.file:
                    continue
                result = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo"))
            top = result.hypotheses[0] if result.hypotheses else None
            lo, hi = (truth.lines[0], truth.lines[-1]) if truth.lines else (0, 0)
            loc = top.locations[0] if top and top.locations else None
            # the located region [line, end_line] overlaps the lines the faulty commit changed
            region = bool(loc and loc.path == truth.file and loc.line <= hi and (loc.end_line or loc.line) >= lo)
            commit = bool(top and top.suspect_commits and top.suspect_commits[0].sha == truth.commit)
            owner = bool(top and top.owners and top.owners[0].name == truth.owner)
            totals["cases"] += 1
            totals["region"] += region
            totals["commit"] += commit
            totals["owner"] += owner
            where = f"{loc.path}:{loc.line}" if loc else "-"
            print(
                f"{fault:28s} seed {seed}: region {'ok' if region else 'MISS'} ({where} vs {truth.file}:{lo}-{hi}),"
                f" commit {'ok' if commit else 'MISS'}, owner {'ok' if owner else 'MISS'}"
            )
    n = totals["cases"] or 1
    print(
        f"cases {totals['cases']}: region {totals['region'] / n:.0%}, commit {totals['commit'] / n:.0%},"
        f" owner {totals['owner'] / n:.0%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
