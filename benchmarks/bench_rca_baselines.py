"""Our RCA scores beside BARO (rcaeval 1.8.1) and a trivial baseline, on exactly the same telemetry.

Each case is loaded once by the harness adapters (`incidentlens.bench`); our pipeline, BARO and the
"service with most error logs" baseline then read the same store and the same windows: BARO gets the
metric normal period (30 min before injection for Nezha, normal.csv for RCD) and the incident period.

BARO is not a project dependency. Install it into the venv first:

    .venv/bin/pip install --no-deps rcaeval==1.8.1
    .venv/bin/pip install numpy pandas scikit-learn

`RCAEval/e2e/baro.py` is loaded as a file: `from RCAEval.e2e import baro` pulls heavy optional packages.

Usage: PYTHONPATH=src python benchmarks/bench_rca_baselines.py --dataset nezha ../shared/data/nezha
       [--system trainticket] [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from incidentlens.bench.cases import BenchCase, Loaded
from incidentlens.bench.rca import Dataset, by_group, discover, ece, median_seconds, run, score_case
from incidentlens.bench.scoring import CaseScore, Prediction, summarise
from incidentlens.errors import IncidentLensError
from incidentlens.model import TimeRange
from incidentlens.telemetry.store import TelemetryStore

INSTALL_HINT = (
    "BARO is missing. Install the baseline (not a project dependency):\n"
    "  .venv/bin/pip install --no-deps rcaeval==1.8.1 && .venv/bin/pip install numpy pandas scikit-learn"
)


def load_baro() -> Callable[..., dict[str, Any]]:
    """`baro()` from the installed RCAEval package's `e2e/baro.py`, imported as a single file."""
    try:
        import pandas  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"{INSTALL_HINT}\n({exc})") from None
    spec = importlib.util.find_spec("RCAEval")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(INSTALL_HINT)
    path = Path(next(iter(spec.submodule_search_locations))) / "e2e" / "baro.py"
    file_spec = importlib.util.spec_from_file_location("rcaeval_baro_file", path)
    if file_spec is None or file_spec.loader is None:
        raise SystemExit(f"{INSTALL_HINT}\n(cannot load {path})")
    module: ModuleType = importlib.util.module_from_spec(file_spec)
    file_spec.loader.exec_module(module)
    baro: Callable[..., dict[str, Any]] = module.baro
    return baro


def metric_frame(store: TelemetryStore, normal: TimeRange, incident: TimeRange) -> tuple[Any, int, dict[str, str]]:
    """Wide frame (time + one column per series and pod), normal rows first; also column -> service."""
    import pandas as pd

    rows = store.rows(
        "SELECT ts_ns, service, name, coalesce(json_extract_string(labels, '$.pod'), '') AS pod, avg(value),"
        " ts_ns >= $3 AND ts_ns <= $4 AS inc FROM metrics"
        " WHERE value IS NOT NULL AND ((ts_ns >= $1 AND ts_ns < $2) OR (ts_ns >= $3 AND ts_ns <= $4))"
        " GROUP BY ALL",
        [normal.start_ns, normal.end_ns, incident.start_ns, incident.end_ns],
    )
    if not rows:
        return pd.DataFrame(), 0, {}
    df = pd.DataFrame(rows, columns=["ts", "service", "name", "pod", "value", "inc"])
    df["col"] = df["pod"].where(df["pod"] != "", df["service"]) + "_" + df["name"]
    owner = dict(zip(df["col"], df["service"], strict=False))
    wide = df.pivot_table(index=["inc", "ts"], columns="col", values="value", aggfunc="mean").sort_index()
    wide = wide.ffill().bfill().fillna(0.0)  # BARO's RobustScaler cannot take gaps; held-back minutes leave some
    n_normal = int((~wide.index.get_level_values("inc").to_numpy(dtype=bool)).sum())
    wide = wide.reset_index().drop(columns=["inc"])
    wide.insert(0, "time", wide.pop("ts") / 1e9)
    return wide, n_normal, owner


def most_error_logs(store: TelemetryStore, incident: TimeRange) -> list[str]:
    rows = store.rows(
        "SELECT service, count(*) AS n FROM logs WHERE level IN ('ERROR', 'FATAL') AND service <> ''"
        " AND ts_ns >= $1 AND ts_ns <= $2 GROUP BY service ORDER BY n DESC, service",
        [incident.start_ns, incident.end_ns],
    )
    return [str(r[0]) for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--dataset", choices=[d.value for d in Dataset], required=True)
    parser.add_argument("--system")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    baro = load_baro()
    dataset = Dataset(args.dataset)
    try:
        cases = discover(dataset, args.data_dir, system=args.system)
    except IncidentLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cases = cases[: args.limit] if args.limit else cases
    other: dict[str, list[CaseScore]] = {"BARO": [], "most error logs": []}

    def hook(case: BenchCase, store: TelemetryStore, loaded: Loaded) -> None:
        normal = loaded.metric_baseline or loaded.windows.baseline
        frame, n_normal, owner = metric_frame(store, normal, loaded.windows.incident)
        ranked: list[str] = []
        if n_normal and len(frame) > n_normal:
            result = baro(frame, inject_time=loaded.windows.alert_ns, dataset=dataset.value, anomalies=[n_normal])
            ranked = [owner[c] for c in result["ranks"] if c in owner]
        for name, services in (("BARO", ranked), ("most error logs", most_error_logs(store, loaded.windows.incident))):
            other[name].append(score_case(case, [Prediction(s) for s in services], 0.0, 0.0))

    def progress(i: int, total: int, outcome: Any) -> None:
        s = outcome.score
        print(f"[{i}/{total}] {s.case_id}: {s.predicted[:1]} vs {s.truth} {s.seconds:.1f} s", file=sys.stderr)

    ours = run(dataset, cases, progress=progress, hook=hook)
    with_inner = dataset is Dataset.NEZHA
    table: dict[str, dict[str, dict[str, float | int]]] = {"IncidentLens": by_group(ours, lambda s: s.system)}
    for name, scores in other.items():
        groups: dict[str, list[CaseScore]] = {}
        for s in scores:
            groups.setdefault(s.system, []).append(s)
        table[name] = {k: summarise(v, with_inner=False) for k, v in sorted(groups.items())}
    if args.json:
        payload = {"methods": table, "ece": round(ece(ours), 4), "median_case_seconds": median_seconds(ours)}
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    cols = ["AC@1", "AC@3", "Avg@5"] + (["AIS@1", "AIS@3"] if with_inner else [])
    print(f"{'system':18s} {'method':16s} " + " ".join(f"{c:>6s}" for c in cols) + "  cases")
    systems = sorted({s for per in table.values() for s in per})
    for system in systems:
        for method, per in table.items():
            if system in per:
                row = per[system]
                cells = " ".join(f"{float(row[c]):6.2f}" if c in row else f"{'-':>6s}" for c in cols)
                print(f"{system:18s} {method:16s} {cells}  {int(row['cases']):5d}")
    print(f"\nIncidentLens: ECE {ece(ours):.3f}, median {median_seconds(ours):.2f} s per case (loading included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
