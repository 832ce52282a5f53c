"""Incident memory on simulated histories: recurring faults found, novel ones not "seen before", speed at 10k.

1. History: every fault of the catalogue x `--history-seeds` seeds is simulated, investigated with the memory
   of the incidents resolved before it, recorded in a real SQLite workflow database, its true hypothesis
   confirmed (as the on-call engineer would), the incident resolved and indexed (`index_incident`).
2. New incidents: every fault x `--new-seeds` other seeds, plus the fault-free scenario, investigated with
   memory. A new incident *recurs* when its (root-cause service, fault) occurred in the history: the right
   past incident must be in the top 3. It is *novel* when that combination never occurred: no past incident
   may be "seen before". Fault types are also held out one at a time (leave-one-fault-out) so every fault
   is tested as novel; the simulator picks the service from the seed, so held-out faults stand in for
   held-out service/fault combinations.
3. The new incidents are recorded and resolved too, and `memory stats` measures recurrence and whether
   the first brief surfaced the past incident.
4. Scale: 10,000 synthetic fingerprints drawn from the real ones with perturbation; build and query time.

Usage: python benchmarks/bench_memory.py [--scale 0.25] [--cache DIR] [--history-seeds 5] [--new-seeds 3] [--json]
Bundles are cached under --cache (default: a folder in the system temp dir), so reruns skip simulation.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from incidentlens.investigation import InvestigationRequest, run
from incidentlens.investigation import InvestigationResult as Investigation
from incidentlens.memory.fingerprint import Family, Feature, Fingerprint, Symptoms
from incidentlens.memory.index import MemoryIndex
from incidentlens.memory.indexing import index_incident, load_fingerprints, load_index, reindex_all
from incidentlens.memory.retrieve import SEEN_BEFORE, Recall, recaller
from incidentlens.memory.stats import memory_stats
from incidentlens.model import FaultKind, HypothesisStatus, IncidentStatus, Severity
from incidentlens.report.render import render_json
from incidentlens.simulate import FAULTS, simulate
from incidentlens.store import set_incident_status
from incidentlens.store.database import Database, open_database
from incidentlens.workflow import record_investigation

SCALE_INCIDENTS = 10_000
TOP = 3


@dataclasses.dataclass
class Case:
    fault: str
    seed: int
    service: str
    fault_kind: str
    bundle: Path


def bundle_for(cache: Path, fault: str, seed: int, scale: float) -> Case:
    path = cache / f"{fault}-seed{seed}-scale{scale:g}"
    if not (path / "truth.json").exists():
        shutil.rmtree(path, ignore_errors=True)
        simulate(fault, seed=seed, out=path, scale=scale)
    truth = orjson.loads((path / "truth.json").read_bytes())
    return Case(fault, seed, str(truth["service"]), str(truth["fault_kind"]), path)


def investigate(case: Case, recall: Recall | None = None) -> Investigation:
    return run(InvestigationRequest.for_files([case.bundle], repository=case.bundle / "repo", recall=recall))


def record_resolved(db: Database, case: Case, result: Investigation) -> str:
    """Record the investigation, confirm the hypothesis naming the true service, resolve the incident."""
    hypotheses = list(result.hypotheses)
    for i, h in enumerate(hypotheses):
        if h.service == case.service and case.fault_kind:
            hypotheses[i] = dataclasses.replace(h, status=HypothesisStatus.CONFIRMED, fault=FaultKind(case.fault_kind))
            break
    brief = result.brief
    recorded = record_investigation(
        db,
        title=f"{case.fault} seed {case.seed}: {brief.title}",
        service=hypotheses[0].service if hypotheses else None,
        severity=Severity.UNKNOWN,
        detected_ns=brief.alert_ns or brief.onset_ns,
        alert_fingerprint="",
        evidence=list(result.evidence.values()),
        hypotheses=hypotheses,
        brief_json=render_json(brief),
        workspace="bench_memory",
        inputs=dict(brief.inputs),
    )
    now = datetime.now(UTC)
    set_incident_status(db, incident_id=recorded.incident_id, status=IncidentStatus.RESOLVED, at=now, actor="bench")
    return recorded.incident_id


def synthetic(real: list[Fingerprint], n: int, rng: random.Random) -> list[Fingerprint]:
    """`n` fingerprints drawn from real ones: each feature kept with p=0.8, up to 3 noise features added."""
    services = sorted({f.service for fp in real for f in fp.symptoms.features})
    out = []
    for i in range(n):
        base = rng.choice(real)
        kept = [f for f in base.symptoms.features if rng.random() < 0.8]
        noise = [
            Feature(rng.choice(list(Family)), rng.choice(services), f"synthetic {rng.randrange(5000)}")
            for _ in range(rng.randrange(4))
        ]
        symptoms = Symptoms(tuple(kept + noise), base.symptoms.services, base.symptoms.edges)
        out.append(dataclasses.replace(base, incident_id=f"SYN-{i:05d}", symptoms=symptoms))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "incidentlens-bench-memory")
    parser.add_argument("--history-seeds", type=int, default=5)
    parser.add_argument("--new-seeds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    faults = sorted(f for f in FAULTS if f != "none")
    history = [bundle_for(args.cache, f, s, args.scale) for s in range(1, args.history_seeds + 1) for f in faults]
    fresh = [bundle_for(args.cache, f, s, args.scale) for f in faults for s in range(101, 101 + args.new_seeds)]
    healthy = [bundle_for(args.cache, "none", s, args.scale) for s in range(101, 101 + args.new_seeds)]

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(workspace=Path(tmp))
        try:
            truth_of: dict[str, tuple[str, str]] = {}
            for case in history:
                past = load_index(db)
                incident_id = record_resolved(db, case, investigate(case, recaller(past) if len(past) else None))
                index_incident(db, incident_id)
                truth_of[incident_id] = (case.service, case.fault)
            fingerprints = load_fingerprints(db)
            index = MemoryIndex(fingerprints)
            seen_combos = set(truth_of.values())
            rows = [evaluate(case, index, fingerprints, truth_of, seen_combos) for case in [*fresh, *healthy]]
            for case, row in zip(fresh, rows, strict=False):
                row["incident_id"] = record_resolved(db, case, row.pop("_result"))
            for row in rows:
                row.pop("_result", None)
            reindex_all(db)
            stats = memory_stats(db).to_dict()
        finally:
            db.dispose()
    speed = scale_test(fingerprints, [r["_symptoms"] for r in rows])
    for row in rows:
        row.pop("_symptoms")
    report = summarise(rows, stats, speed, history=len(history), seconds=time.perf_counter() - started)
    if args.json:
        sys.stdout.write(orjson.dumps({"summary": report, "cases": rows}, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print_report(report, rows)
    return 0


def evaluate(
    case: Case,
    index: MemoryIndex,
    fingerprints: list[Fingerprint],
    truth_of: dict[str, tuple[str, str]],
    seen_combos: set[tuple[str, str]],
) -> dict[str, Any]:
    plain = investigate(case)
    with_memory = investigate(case, recaller(index))
    symptoms = with_memory.brief.symptoms
    assert symptoms is not None
    combo = (case.service, case.fault)
    top = index.search(symptoms, limit=TOP)
    held_out = MemoryIndex([fp for fp in fingerprints if truth_of[fp.incident_id][1] != case.fault])
    held_out_seen = recaller(held_out)(symptoms)
    shown = [s.incident_id for s in with_memory.brief.seen_before]
    return {
        "fault": case.fault,
        "seed": case.seed,
        "service": case.service,
        "recurring": case.fault != "none" and combo in seen_combos,
        "top3": [(m.fingerprint.incident_id, *truth_of[m.fingerprint.incident_id], m.similarity) for m in top],
        "found_in_top3": any(truth_of[m.fingerprint.incident_id] == combo for m in top),
        "seen_before": shown,
        "seen_before_right": bool(shown) and truth_of[shown[0]] == combo,
        "held_out_seen_before": [m.fingerprint.incident_id for m in held_out_seen],
        "top1_plain": plain.hypotheses[0].service if plain.hypotheses else "",
        "top1_memory": with_memory.hypotheses[0].service if with_memory.hypotheses else "",
        "memory_notes": [n for rh in with_memory.brief.hypotheses for n in rh.memory_notes],
        "_result": with_memory,
        "_symptoms": symptoms,
    }


def scale_test(real: list[Fingerprint], queries: list[Symptoms]) -> dict[str, float]:
    many = synthetic(real, SCALE_INCIDENTS, random.Random(7))
    t0 = time.perf_counter()
    index = MemoryIndex(many)
    build = time.perf_counter() - t0
    times = []
    for _ in range(5):
        for q in queries:
            t = time.perf_counter()
            index.search(q, limit=TOP)
            times.append(time.perf_counter() - t)
    times.sort()
    return {
        "incidents": len(index),
        "build_ms": round(build * 1000, 1),
        "query_mean_ms": round(statistics.mean(times) * 1000, 2),
        "query_p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 2),
        "query_max_ms": round(times[-1] * 1000, 2),
    }


def summarise(
    rows: list[dict[str, Any]], stats: dict[str, Any], speed: dict[str, float], **extra: Any
) -> dict[str, Any]:
    recurring = [r for r in rows if r["recurring"]]
    novel = [r for r in rows if not r["recurring"]]
    faulty = [r for r in rows if r["fault"] != "none"]

    def share(items: list[dict[str, Any]], key: str, negate: bool = False) -> float:
        if not items:
            return 0.0
        hits = sum(1 for r in items if bool(r[key]) != negate)
        return round(hits / len(items), 4)

    return {
        **extra,
        "threshold": SEEN_BEFORE,
        "recurring": len(recurring),
        "recurring_found_top3": share(recurring, "found_in_top3"),
        "recurring_seen_before": share(recurring, "seen_before"),
        "recurring_seen_before_right": share(recurring, "seen_before_right"),
        "novel": len(novel),
        "novel_not_seen_before": share(novel, "seen_before", negate=True),
        "held_out_faults": len(faulty),
        "held_out_not_seen_before": share(faulty, "held_out_seen_before", negate=True),
        "top1_plain": round(sum(r["top1_plain"] == r["service"] for r in faulty) / max(len(faulty), 1), 4),
        "top1_memory": round(sum(r["top1_memory"] == r["service"] for r in faulty) / max(len(faulty), 1), 4),
        "stats": {k: v for k, v in stats.items() if k != "recurrences"},
        "speed": speed,
    }


def print_report(s: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    print(f"{'fault':28s} {'seed':>4s} {'service':15s} {'kind':9s} top3  seen-before (held out)")
    for r in rows:
        kind = "recurring" if r["recurring"] else "novel"
        ok = "yes" if r["found_in_top3"] else "no"
        print(
            f"{r['fault']:28s} {r['seed']:4d} {r['service'] or '-':15s} {kind:9s} {ok:5s} "
            f"{','.join(r['seen_before']) or '-'} ({','.join(r['held_out_seen_before']) or '-'})"
        )
    st, sp = s["stats"], s["speed"]
    print(f"\nhistory: {s['history']} resolved incidents; threshold for 'seen before': similarity >= {s['threshold']}")
    print(f"recurring ({s['recurring']}): right past incident in top {TOP}: {s['recurring_found_top3']:.1%}; ", end="")
    print(
        f"seen before shown: {s['recurring_seen_before']:.1%}, first one right: {s['recurring_seen_before_right']:.1%}"
    )
    print(f"novel service/fault combinations ({s['novel']}): no 'seen before': {s['novel_not_seen_before']:.1%}")
    print(f"leave-one-fault-out ({s['held_out_faults']}): no 'seen before': {s['held_out_not_seen_before']:.1%}")
    print(f"top-1 root-cause service: {s['top1_plain']:.1%} without memory, {s['top1_memory']:.1%} with memory")
    print(
        f"memory stats: {st['recurring']} of {st['confirmed']} confirmed causes recur ({st['recurring_share']:.1%}); "
        f"surfaced in the first brief: {st['surfaced']} ({st['surfaced_share']:.1%})"
    )
    print(
        f"speed over {sp['incidents']} incidents: build {sp['build_ms']:.0f} ms; "
        f"query mean {sp['query_mean_ms']:.1f} ms, p95 {sp['query_p95_ms']:.1f} ms, max {sp['query_max_ms']:.1f} ms"
    )
    print(f"total {s['seconds']:.0f} s")


if __name__ == "__main__":
    raise SystemExit(main())
