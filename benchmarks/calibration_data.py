"""Collect (score features, correct?) for every benchmark case, to fit and check confidence calibration.

Runs the same analysis as `investigate` on Nezha and RCD cases and on simulated bundles, and writes one JSON
line per case: the top two service scores, how many kinds of signal support the top one, and whether the top
service is the true one. Usage: python benchmarks/calibration_data.py OUT.jsonl [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import orjson

from incidentlens.analyze.topology import build_graph
from incidentlens.bench.rca import Dataset, discover
from incidentlens.diagnose.rank import score_services
from incidentlens.ingest.runner import ingest_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.investigation.analysis import analyse, detect_windows
from incidentlens.model import TimeRange
from incidentlens.simulate import FAULTS, simulate
from incidentlens.telemetry.queries import DuckDBQueries
from incidentlens.telemetry.store import TelemetryStore

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def features(store: TelemetryStore, windows: object = None, metric_baseline: object = None) -> dict[str, object]:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    rows = []
    for dataset, folder in ((Dataset.NEZHA, DATA / "nezha"), (Dataset.RCD, DATA / "rcd-sockshop")):
        for case in discover(dataset, folder):
            with TelemetryStore() as store:
                loaded = case.load(store, RowSink())
                f = features(store, loaded.windows, loaded.metric_baseline)
            rows.append({"source": case.system, "case": case.case_id, "truth": case.truth.service, **f})
    for fault in FAULTS:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                truth = simulate(fault, seed=seed, out=Path(tmp) / "b", with_repo=False)
                with TelemetryStore() as store:
                    ingest_paths([Path(tmp) / "b"], store)
                    f = features(store)
            rows.append({"source": "simulated", "case": f"{fault}-{seed}", "truth": truth.service, **f})
    with args.out.open("wb") as fh:
        for row in rows:
            row["correct"] = bool(row["ranked"]) and row["ranked"][0] == row["truth"]  # type: ignore[index]
            fh.write(orjson.dumps(row) + b"\n")
    print(f"{len(rows)} cases written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
