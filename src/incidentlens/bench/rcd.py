"""RCD / RCAEval "Sock Shop" cases -> metric rows and the periods the dataset defines. Format conversion only.

Layout: `<data>/**/<service>-<fault>/<run>/{normal,anomalous}.csv`, wide CSVs with a time column and
`<container>_<metric>` columns. `normal.csv` is the normal period (whatever its timestamps say),
`anomalous.csv` the incident, its first row the alert time. The folder name is the ground truth.
"""

from __future__ import annotations

import csv
import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from incidentlens.analyze.windows import Windows
from incidentlens.bench.cases import BenchCase, Loaded, Truth, alert_row, report_unparsed, stage_csv
from incidentlens.errors import FormatError
from incidentlens.ingest.sink import RowSink
from incidentlens.ingest.widecsv import TIME_COLUMNS
from incidentlens.model import TimeRange
from incidentlens.telemetry.store import TelemetryStore

NORMAL_FILE = "normal.csv"
INCIDENT_FILE = "anomalous.csv"
# Epoch numbers told apart by magnitude (s, ms, us, ns), as `ingest.common.parse_time_ns` does.
_EPOCH_NS_SQL = (
    "CASE WHEN abs({x}) >= 1e17 THEN {x} WHEN abs({x}) >= 1e14 THEN {x} * 1e3"
    " WHEN abs({x}) >= 1e11 THEN {x} * 1e6 ELSE {x} * 1e9 END"
)


@dataclass(frozen=True, slots=True)
class RcdInput:
    normal: Path
    anomalous: Path


def split_columns(names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """`<container>_<metric>` -> (container, metric) for columns whose names contain `_`.

    Containers and metrics may both contain `_` (`carts_lat_90`): the split is at the prefix the most
    columns share (a container reports several metrics), the shorter prefix on ties. A column with no
    shared prefix keeps its whole name as the metric and no service.
    """
    prefixes: Counter[str] = Counter()
    for name in names:
        parts = name.split("_")
        for i in range(1, len(parts)):
            prefixes["_".join(parts[:i])] += 1
    out: dict[str, tuple[str, str]] = {}
    for name in names:
        parts = name.split("_")
        candidates = ["_".join(parts[:i]) for i in range(1, len(parts))]
        shared = [c for c in candidates if prefixes[c] >= 2]
        if not shared:
            out[name] = ("", name)
            continue
        best = max(shared, key=lambda c: (prefixes[c], -len(c)))
        out[name] = (best, name[len(best) + 1 :])
    return out


def discover(data_dir: Path, *, system: str | None = None) -> list[BenchCase]:
    """Every folder under `data_dir` holding both files; truth from `<service>-<fault>/<run>`."""
    if not data_dir.is_dir():
        raise FormatError(str(data_dir), "not a directory")
    name = system or data_dir.name
    cases: list[BenchCase] = []
    for normal in sorted(data_dir.rglob(NORMAL_FILE)):
        folder = normal.parent
        anomalous = folder / INCIDENT_FILE
        if not anomalous.is_file() or "-" not in folder.parent.name:
            continue
        service, fault = folder.parent.name.rsplit("-", 1)
        case_id = f"{service}_{fault}_{folder.name}"
        cases.append(
            BenchCase(case_id, name, Truth(service, fault), functools.partial(load, RcdInput(normal, anomalous)))
        )
    if not cases:
        raise FormatError(str(data_dir), f"no <service>-<fault>/<run>/{NORMAL_FILE} + {INCIDENT_FILE} folders found")
    return cases


def _columns(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(str(path), f"cannot read the header ({exc})", line=1) from None


def load(inp: RcdInput, store: TelemetryStore, sink: RowSink) -> Loaded:
    """Write both files' series and the alert (first anomalous row); return normal and incident periods."""
    header = _columns(inp.normal)
    time_col = next((c for c in header if c.strip().lower() in TIME_COLUMNS), None)
    if time_col is None:
        raise FormatError(str(inp.normal), f"no time column (one of {', '.join(sorted(TIME_COLUMNS))})", line=1)
    names = [c for c in header if c != time_col]
    split = split_columns(names)
    stage_csv(store, sink, "bench_rcd_rows", [str(inp.normal), str(inp.anomalous)])
    store.execute(
        "CREATE OR REPLACE TEMP TABLE bench_rcd_rows AS SELECT *, filename = $1 AS inc FROM bench_rcd_rows",
        [str(inp.anomalous)],
    )
    t = f'TRY_CAST("{time_col}" AS DOUBLE)'
    store.execute(
        "CREATE OR REPLACE TEMP TABLE bench_rcd_rows AS SELECT *,"
        f" coalesce(TRY_CAST({_EPOCH_NS_SQL.format(x=t)} AS BIGINT),"
        f'  epoch_ns(TRY_CAST("{time_col}" AS TIMESTAMPTZ))) AS ts FROM bench_rcd_rows'
    )
    report_unparsed(store, sink, "bench_rcd_rows", "ts IS NOT NULL", "row without a readable time")
    store.execute(
        "CREATE OR REPLACE TEMP TABLE bench_rcd_points AS SELECT ts, inc, filename, line, name, raw FROM"
        f' (UNPIVOT (SELECT * FROM bench_rcd_rows WHERE ts IS NOT NULL) ON COLUMNS(* EXCLUDE ("{time_col}",'
        " filename, inc, line, ts)) INTO NAME name VALUE raw)"
    )
    report_unparsed(store, sink, "bench_rcd_points", "TRY_CAST(raw AS DOUBLE) IS NOT NULL", "value is not a number")
    store.execute(
        "INSERT INTO metrics (ts_ns, service, name, labels, value, source)"
        " SELECT p.ts, m.svc, m.metric, '{}', CASE WHEN isnan(TRY_CAST(p.raw AS DOUBLE)) THEN NULL"
        "  ELSE TRY_CAST(p.raw AS DOUBLE) END, p.filename"
        " FROM bench_rcd_points p JOIN (SELECT unnest($1::VARCHAR[]) AS col, unnest($2::VARCHAR[]) AS svc,"
        "  unnest($3::VARCHAR[]) AS metric) m ON m.col = p.name WHERE TRY_CAST(p.raw AS DOUBLE) IS NOT NULL",
        [list(split), [s for s, _ in split.values()], [m for _, m in split.values()]],
    )
    ranges = store.rows("SELECT inc, min(ts), max(ts) FROM bench_rcd_rows WHERE ts IS NOT NULL GROUP BY inc")
    span = {bool(r[0]): (int(r[1]), int(r[2])) for r in ranges}
    if True not in span or False not in span:
        raise FormatError(str(inp.normal.parent), f"no readable rows in {NORMAL_FILE} or {INCIDENT_FILE}")
    alert_row(sink, starts_ns=span[True][0], source=f"{inp.anomalous}:2")
    store.append(sink)
    store.execute("DROP TABLE bench_rcd_rows; DROP TABLE bench_rcd_points")
    notes: tuple[str, ...] = ()
    if span[False][1] >= span[True][0]:
        notes = ("the normal file was not recorded before the anomalous one",)
    windows = Windows(
        baseline=TimeRange(span[False][0], span[False][1] + 1),
        incident=TimeRange(span[True][0], span[True][1]),
        onset_ns=span[True][0],
        alert_ns=span[True][0],
        onset_reason="the benchmark case's incident period (first anomalous row)",
    )
    return Loaded(windows, None, notes)
