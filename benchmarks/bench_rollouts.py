"""Root cause of simulated rolling updates: IncidentLens against "the service deployed last before the alert".

Each bundle is a rollout of 1-6 services, one pod at a time, where exactly one new version is defective
(errors, latency, CPU, memory, or a defect only callers' edges see); fault-free rollouts (a noisy alert, no
defective version) should end in "not enough evidence". Both rankings come from the same bundles in the same
run. The departure threshold of the deploy-aware analysis (`analyze/deploy_pods.DEPART_Z`) is also chosen by
leave-one-fault-kind-out: for each kind, the grid value that scores best on the other kinds (hits plus
fault-free abstentions) is applied to the held-out kind, and that held-out figure is reported beside the
in-sample one. The onset found from the data is compared with the first step of the defective version's rollout:
the share within `ONSET_TOLERANCE` of it is reported, with the share dated by a change point.

Usage: python benchmarks/bench_rollouts.py [--bundles 60] [--normal 20] [--grid 3 4 6 8] [--json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson

from incidentlens.analyze import deploy_pods
from incidentlens.investigation import InvestigationRequest, run_on_store
from incidentlens.simulate.rollout import simulate_rollout
from incidentlens.simulate.rollout_plan import ROLLOUT_FAULTS
from incidentlens.telemetry.store import TelemetryStore

KINDS = tuple(f for f in ROLLOUT_FAULTS if f != "rollout_none")
ONSET_TOLERANCE_NS = 120 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    seed: int
    truth: str
    ranked: tuple[str, ...]  # IncidentLens, best first
    abstained: bool
    confidence: float
    latest: tuple[str, ...]  # services by their last deploy before the alert, most recent first
    named_version: bool  # the leading claim names the defective version
    named_pods: bool  # ... and its pods
    onset_error_ns: int  # found onset minus the first defective step (0 without a defect)
    onset_reason: str


def latest_changes(bundle: Path, alert_ns: int) -> tuple[str, ...]:
    """The recency baseline: distinct services ordered by their last deploy at or before the alert."""
    from incidentlens.ingest.common import parse_time_ns

    events = orjson.loads((bundle / "changes" / "changes.json").read_bytes())["changes"]
    last: dict[str, int] = {}
    for e in events:
        t = parse_time_ns(e["timestamp"])
        if t is not None and t <= alert_ns:
            last[e["service"]] = max(last.get(e["service"], 0), t)
    return tuple(sorted(last, key=lambda s: -last[s]))


def investigate(
    store: TelemetryStore, bundle: Path | None, depart_z: float
) -> tuple[tuple[str, ...], bool, float, str, int, str]:
    deploy_pods.DEPART_Z = depart_z  # the swept default, read at call time
    request = InvestigationRequest.for_files([bundle]) if bundle is not None else InvestigationRequest(sources=())
    result = run_on_store(store, request)
    ranked = tuple(h.service for h in result.hypotheses)
    top = result.hypotheses[0] if result.hypotheses else None
    w = result.windows
    return (
        ranked,
        result.brief.abstained,
        top.confidence if top else 0.0,
        top.claim if top else "",
        w.onset_ns,
        w.onset_reason,
    )


def run_bundle(kind: str, seed: int, grid: list[float]) -> dict[float, Outcome]:
    """Outcomes of one bundle for every grid value (the telemetry is loaded once)."""
    out: dict[float, Outcome] = {}
    with tempfile.TemporaryDirectory() as tmp, TelemetryStore() as store:
        bundle = Path(tmp) / "bundle"
        truth = simulate_rollout(kind, seed=seed, out=bundle)
        latest = latest_changes(bundle, truth.alert_ns)
        for i, z in enumerate(grid):
            ranked, abstained, confidence, claim, onset_ns, reason = investigate(store, bundle if i == 0 else None, z)
            out[z] = Outcome(
                kind,
                seed,
                truth.service,
                ranked,
                abstained,
                confidence,
                latest,
                bool(truth.version) and truth.version in claim,
                bool(truth.pods) and all(p in claim for p in truth.pods),
                onset_ns - truth.change_ns if truth.service else 0,
                reason,
            )
    return out


def top_k(o: Outcome, k: int, *, baseline: bool = False) -> bool:
    ranked = o.latest if baseline else (() if o.abstained and k == 1 else o.ranked)
    return o.truth in ranked[:k]


def utility(outcomes: list[Outcome], normal: list[Outcome]) -> float:
    """What a grid value is chosen by: top-1 hits plus abstentions on fault-free rollouts, as shares."""
    hits = sum(top_k(o, 1) for o in outcomes) / max(1, len(outcomes))
    quiet = sum(o.abstained for o in normal) / max(1, len(normal))
    return hits + quiet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles", type=int, default=60, help="defective rollouts (kinds in turn, seeds 1..N)")
    parser.add_argument("--normal", type=int, default=20, help="fault-free rollouts (seeds 1..N)")
    parser.add_argument("--grid", type=float, nargs="+", default=[3.0, 4.0, 6.0, 8.0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    default = deploy_pods.DEPART_Z
    grid = sorted({*args.grid, default})
    started = time.perf_counter()
    runs: dict[float, list[Outcome]] = defaultdict(list)
    for i in range(args.bundles):
        for z, o in run_bundle(KINDS[i % len(KINDS)], i + 1, grid).items():
            runs[z].append(o)
    normal: dict[float, list[Outcome]] = defaultdict(list)
    for seed in range(1, args.normal + 1):
        for z, o in run_bundle("rollout_none", seed, grid).items():
            normal[z].append(o)
    deploy_pods.DEPART_Z = default
    chosen = runs[default]
    # Leave one fault kind out: choose the grid value on the other kinds, score the held-out kind with it.
    held_out: list[Outcome] = []
    picks: dict[str, float] = {}
    for kind in KINDS:
        others = {z: [o for o in runs[z] if o.kind != kind] for z in grid}
        best = max(grid, key=lambda z: (utility(others[z], normal[z]), z == default))
        picks[kind] = best
        held_out.extend(o for o in runs[best] if o.kind == kind)
    n = len(chosen)
    report = {
        "bundles": n,
        "depart_z": default,
        "incidentlens": {"top1": _share(chosen, 1), "top3": _share(chosen, 3)},
        "latest_change": {"top1": _share(chosen, 1, True), "top3": _share(chosen, 3, True)},
        "leave_one_kind_out_top1": _share(held_out, 1),
        "leave_one_kind_out_picks": picks,
        "names_version": sum(o.named_version for o in chosen if top_k(o, 1)) / max(1, sum(top_k(o, 1) for o in chosen)),
        "names_pods": sum(o.named_pods for o in chosen if top_k(o, 1)) / max(1, sum(top_k(o, 1) for o in chosen)),
        "onset_within_2_min": _onset_share(chosen),
        "onset_by_change_point": round(sum("change point" in o.onset_reason for o in chosen) / max(1, n), 3),
        "per_kind": {
            kind: {
                "bundles": len(rows),
                "top1": _share(rows, 1),
                "top3": _share(rows, 3),
                "latest_top1": _share(rows, 1, True),
                "onset_within_2_min": _onset_share(rows),
                "onset_errors_s": [round(o.onset_error_ns / 1e9) for o in rows],
                "misses": [f"seed {o.seed}: {list(o.ranked[:3])} vs {o.truth}" for o in rows if not top_k(o, 1)],
            }
            for kind in KINDS
            if (rows := [o for o in chosen if o.kind == kind])
        },
        "fault_free": {
            "bundles": len(normal[default]),
            "abstained": sum(o.abstained for o in normal[default]),
            "false_alarms": [
                f"seed {o.seed}: {o.ranked[0]} ({o.confidence:.2f})" for o in normal[default] if not o.abstained
            ],
        },
        "grid": {
            str(z): {"top1": _share(runs[z], 1), "fault_free_abstained": sum(o.abstained for o in normal[z])}
            for z in grid
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    print(f"{'fault kind':24s} n   IncidentLens top-1  latest-change top-1  misses (seed: ranked vs truth)")
    for kind, row in report["per_kind"].items():
        misses = "; ".join(row["misses"])
        print(f"{kind:24s} {row['bundles']:<3d} {row['top1']:<19.2f} {row['latest_top1']:<20.2f} {misses}")
    il, lc = report["incidentlens"], report["latest_change"]
    print(f"\n{n} rollouts (DEPART_Z {default}): IncidentLens AC@1 {il['top1']:.2f} AC@3 {il['top3']:.2f}; "
          f"latest change AC@1 {lc['top1']:.2f} AC@3 {lc['top3']:.2f}")  # fmt: skip
    print(f"leave-one-fault-kind-out AC@1 {report['leave_one_kind_out_top1']:.2f} (picks {picks})")
    print(
        f"onset within 2 min of the defective rollout's first step: {report['onset_within_2_min']:.2f}"
        f" (dated by a change point: {report['onset_by_change_point']:.2f}); per kind "
        + ", ".join(f"{k} {r['onset_within_2_min']:.2f}" for k, r in report["per_kind"].items())
    )
    print(f"correct top-1 naming the version {report['names_version']:.2f}, the pods {report['names_pods']:.2f}")
    ff = report["fault_free"]
    print(
        f"fault-free rollouts: abstained {ff['abstained']}/{ff['bundles']}"
        + "".join(f"\n  {f}" for f in ff["false_alarms"])
    )
    print(f"grid {report['grid']} ({report['seconds']} s)")
    return 0


def _onset_share(rows: list[Outcome]) -> float:
    return round(sum(abs(o.onset_error_ns) <= ONSET_TOLERANCE_NS for o in rows) / max(1, len(rows)), 3)


def _share(rows: list[Outcome], k: int, baseline: bool = False) -> float:
    return round(sum(top_k(o, k, baseline=baseline) for o in rows) / max(1, len(rows)), 3)


if __name__ == "__main__":
    raise SystemExit(main())
