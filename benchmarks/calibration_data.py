"""Collect (score features, correct?) for every benchmark case, to fit and check confidence calibration.

Runs the same analysis as `investigate` on Nezha and RCD cases, simulated bundles and fault-free inputs, and
writes one JSON line per case: the top two service scores, how many analysers support the top one, how many
services are anomalous, and whether the top service is the true one (never, without a fault).
With `--grid`, every case is analysed once per value of `analyze/traces.MIN_RISE_Z` (the telemetry is loaded
once) and each row records its value, so `fit_calibration.py` can choose it leave one source out.
Usage: python benchmarks/calibration_data.py OUT.jsonl [--seeds 1 2 3] [--normal-seeds 20] [--grid 3 4 5]
"""

from __future__ import annotations

import argparse
import random
import string
import tempfile
from pathlib import Path

import orjson

from incidentlens.analyze import traces
from incidentlens.analyze.topology import build_graph
from incidentlens.bench.rca import Dataset, discover, fault_free_cases
from incidentlens.diagnose.rank import score_services
from incidentlens.errors import IncidentLensError
from incidentlens.ingest.runner import ingest_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.investigation.analysis import analyse, detect_windows
from incidentlens.model import TimeRange
from incidentlens.simulate import FAULTS, simulate
from incidentlens.telemetry.queries import DuckDBQueries
from incidentlens.telemetry.store import TelemetryStore

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GRID: list[float] = []  # values of traces.MIN_RISE_Z to analyse each case with; empty: the shipped one


def features(store: TelemetryStore, windows: object = None, metric_baseline: object = None) -> list[dict[str, object]]:
    """One feature row per grid value (the shipped setting alone without a grid)."""
    shipped = traces.MIN_RISE_Z
    rows = []
    try:
        for z in GRID or [shipped]:
            traces.MIN_RISE_Z = z  # read at call time
            rows.append({"min_rise_z": z, **_features(store, windows, metric_baseline)})
    finally:
        traces.MIN_RISE_Z = shipped
    return rows


def _features(store: TelemetryStore, windows: object = None, metric_baseline: object = None) -> dict[str, object]:
    q = DuckDBQueries(store)
    w = windows or detect_windows(q)
    a = analyse(q, w, metric_baseline=metric_baseline)  # type: ignore[arg-type]
    b = q.bounds()
    assert b is not None
    scores = score_services(a.findings, build_graph(q.edges(TimeRange(b.start_ns, b.end_ns))))
    top = scores[0] if scores else None
    return {
        "ranked": [s.service for s in scores[:5]],
        "p1": top.score if top else 0.0,
        "p2": scores[1].score if len(scores) > 1 else 0.0,
        "kinds": len({f.analyzer for f in top.findings if f.analyzer != "changes"}) if top else 0,
        "n": len(scores),
    }


def file_features(paths: list[Path]) -> list[dict[str, object]] | None:
    """Features of investigating files as a user would; None when they are refused with a clear error."""
    try:
        with TelemetryStore() as store:
            ingest_paths(paths, store)
            return features(store)
    except IncidentLensError:
        return None


def fault_free_rows(normal_seeds: int) -> list[dict[str, object]]:
    """Inputs with no root cause to find: any named service is wrong, "not enough evidence" is right.

    Nezha's fault-free reference minutes, healthy simulated bundles (seeds other than the faulty ones), every
    sample file in shared/data/formats investigated alone, and junk (random text, random bytes).
    """
    rows: list[dict[str, object]] = []
    for case in fault_free_cases(Dataset.NEZHA, DATA / "nezha"):
        with TelemetryStore() as store:
            loaded = case.load(store, RowSink())
            f = features(store, loaded.windows, loaded.metric_baseline)
        rows.extend({"source": "nezha-normal", "case": case.case_id, "truth": "", **g} for g in f)
    for seed in range(101, 101 + normal_seeds):
        with tempfile.TemporaryDirectory() as tmp:
            simulate("none", seed=seed, out=Path(tmp) / "b", with_repo=False)
            f = file_features([Path(tmp) / "b"])
        if f is not None:
            rows.extend({"source": "simulated-normal", "case": f"none-{seed}", "truth": "", **g} for g in f)
    for sample in sorted(p for p in (DATA / "formats").rglob("*") if p.is_file() and p.suffix not in (".md", ".sql")):
        f = file_features([sample])
        if f is not None:
            rows.extend({"source": "formats", "case": sample.name, "truth": "", **g} for g in f)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "random.log"
        alphabet = string.ascii_letters + string.digits + " .,:;-_/"
        text.write_text("\n".join("".join(rng.choices(alphabet, k=rng.randint(20, 160))) for _ in range(20_000)))
        binary = Path(tmp) / "random.bin"
        binary.write_bytes(rng.randbytes(1_000_000))
        for junk in (text, binary):
            f = file_features([junk])
            if f is not None:
                rows.extend({"source": "junk", "case": junk.name, "truth": "", **g} for g in f)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--normal-seeds", type=int, default=20, help="healthy simulated bundles (seeds 101..)")
    parser.add_argument("--grid", type=float, nargs="*", default=[], help="values of traces.MIN_RISE_Z to sweep")
    args = parser.parse_args()
    GRID[:] = args.grid
    rows = []
    for dataset, folder in ((Dataset.NEZHA, DATA / "nezha"), (Dataset.RCD, DATA / "rcd-sockshop")):
        for case in discover(dataset, folder):
            with TelemetryStore() as store:
                loaded = case.load(store, RowSink())
                f = features(store, loaded.windows, loaded.metric_baseline)
            rows.extend({"source": case.system, "case": case.case_id, "truth": case.truth.service, **g} for g in f)
    for fault in FAULTS:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                truth = simulate(fault, seed=seed, out=Path(tmp) / "b", with_repo=False)
                f = file_features([Path(tmp) / "b"])
            assert f is not None
            rows.extend({"source": "simulated", "case": f"{fault}-{seed}", "truth": truth.service, **g} for g in f)
    rows.extend(fault_free_rows(args.normal_seeds))
    with args.out.open("wb") as fh:
        for row in rows:
            row["correct"] = bool(row["ranked"]) and row["ranked"][0] == row["truth"]  # type: ignore[index]
            fh.write(orjson.dumps(row) + b"\n")
    print(f"{len(rows)} cases written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
