"""Nezha (ESEC/FSE'23) cases -> telemetry rows and the periods the dataset defines. Format conversion only.

Layout: `<data>/cases.csv` and `<data>/<system>/{rca_data,construct_data}/<date>/{log,trace,metric}/`.
Per case: the `window_minutes` log/trace files are the incident, the `normal_reference_minute` files the
normal period, per-pod metrics from 30 minutes before to 3 minutes after `inject_time`, and an alert at
`inject_time`. Root cause, fault type and inner label stay in `Truth`, for scoring only.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import gzip
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from incidentlens.analyze.windows import Windows
from incidentlens.bench.cases import BenchCase, Loaded, Truth, alert_row, report_unparsed, stage_csv
from incidentlens.errors import FormatError
from incidentlens.ingest.common import parse_time_ns
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.telemetry.store import TelemetryStore

MINUTE_NS = 60 * 1_000_000_000
METRICS_BEFORE_NS = 30 * MINUTE_NS
METRICS_AFTER_NS = 3 * MINUTE_NS
DATA_ROOTS = ("rca_data", "construct_data")
REQUIRED = ("system", "case_id", "date", "inject_time", "root_cause_service", "fault_type", "window_minutes")

# Service = pod name without its last two `-xxxx` parts (Deployment pods: <name>-<replicaset>-<pod>).
_SERVICE_SQL = "regexp_replace(coalesce({pod}, ''), '-[^-]+-[^-]+$', '')"
# logback `%d{HH:mm:ss.SSS} %-5level %logger{15}#%line TraceID: .. SpanID: .. msg`
_JAVA_RE = r"(?s)^\d{2}:\d{2}:\d{2}[.,]\d{3}\s+([A-Za-z]+)\s+(\S+#\d+)\s+(?:TraceID:\s*\S*\s+SpanID:\s*\S*\s*)?(.*)$"
_LEVEL_WORD_RE = r"\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE)\b"
_WORD_LEVEL = f"regexp_extract(left(line_text, 80), '{_LEVEL_WORD_RE}', 1)"
_LEVEL_SQL = (
    "CASE upper({x}) WHEN 'WARNING' THEN 'WARN' WHEN 'SEVERE' THEN 'ERROR' WHEN 'CRITICAL' THEN 'FATAL'"
    " WHEN 'ERR' THEN 'ERROR' ELSE CASE WHEN upper({x}) IN ('TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL')"
    " THEN upper({x}) ELSE '' END END"
)
# Metric `Time` is Go's time.String(): "2023-01-29 08:41:09.858280782 +0000 UTC m=+0.93"; trusted over `TimeStamp`.
_TIME_PARTS_SQL = (
    r"regexp_extract(Time, '^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?\s*(?:([+-])(\d{2}):?(\d{2}))?',"
    " ['d', 'c', 'f', 's', 'h', 'm'])"
)


@dataclass(frozen=True, slots=True)
class NezhaInput:
    """Everything the pipeline may learn about one case: where its files are and the dataset's times."""

    system_dir: Path
    date: str
    inject_ns: int
    window_minutes: tuple[str, ...]
    normal_minute: str


def discover(data_dir: Path, *, system: str | None = None, sink: RowSink | None = None) -> list[BenchCase]:
    """Cases of `data_dir/cases.csv` whose system folder exists; bad rows become problems."""
    return [
        BenchCase(
            row["case_id"],
            row["system"],
            Truth(row["root_cause_service"], row["fault_type"], row.get("inner_service_label") or ""),
            functools.partial(load, inp),
        )
        for row, inp in _case_rows(data_dir, system=system, sink=sink if sink is not None else RowSink())
    ]


def _case_rows(data_dir: Path, *, system: str | None, sink: RowSink) -> list[tuple[dict[str, str], NezhaInput]]:
    """The readable rows of `cases.csv` with where their files are and the dataset's times."""
    path = data_dir / "cases.csv"
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
            if missing:
                raise FormatError(str(path), f"not a Nezha cases file, missing columns {', '.join(missing)}", line=1)
            rows = list(enumerate(reader, start=2))
    except OSError as exc:
        raise FormatError(str(path), f"cannot read the case list ({exc.strerror or exc})") from None
    out: list[tuple[dict[str, str], NezhaInput]] = []
    for line, row in rows:
        if system is not None and row["system"] != system:
            continue
        inject = parse_time_ns(row["inject_time"])
        minutes = tuple(m.strip() for m in (row.get("window_minutes") or "").split(";") if m.strip())
        system_dir = data_dir / row["system"]
        if inject is None or not minutes or not row["root_cause_service"]:
            sink.problem(str(path), "inject_time, window_minutes or root_cause_service unreadable", line=line)
            continue
        if not system_dir.is_dir():
            sink.problem(str(path), f"system folder {system_dir} not found", line=line)
            continue
        normal = (row.get("normal_reference_minute") or "").strip()
        out.append((row, NezhaInput(system_dir, row["date"], inject, minutes, normal)))
    return out


FAULT_FREE = "none"


def fault_free_cases(data_dir: Path, *, system: str | None = None) -> list[BenchCase]:
    """One fault-free window per distinct normal reference minute of the case list (truth: no fault).

    The reference minute's own files are split in time: the first half is the normal period, the second
    half the "incident", with the alert at the split; metrics as for a case alerting then. A tool that
    names a root cause here raised a false alarm.
    """
    seen: dict[tuple[str, str, str], NezhaInput] = {}
    for row, inp in _case_rows(data_dir, system=system, sink=RowSink()):
        if inp.normal_minute:
            seen.setdefault((row["system"], inp.date, inp.normal_minute), inp)
    return [
        BenchCase(
            f"{system_name}_{date}_normal_{minute}",
            system_name,
            Truth("", FAULT_FREE),
            functools.partial(load_fault_free, inp),
        )
        for (system_name, date, minute), inp in sorted(seen.items())
    ]


def load_fault_free(inp: NezhaInput, store: TelemetryStore, sink: RowSink) -> Loaded:
    """Write a reference minute's logs and spans (and metrics around it); split it into normal and incident."""
    files = {k: minute_files(inp.system_dir, inp.date, k, (inp.normal_minute,)) for k in ("log", "trace")}
    log_range = _load_logs(store, sink, files["log"], [])
    span_range = _load_spans(store, sink, files["trace"], [])
    covered = _union(log_range[0], span_range[0])
    start = covered[0] if covered else minute_ns(inp.date, inp.normal_minute)
    end = covered[1] if covered else start + MINUTE_NS
    split = start + (end - start) // 2
    _load_metrics(store, sink, dataclasses.replace(inp, inject_ns=split))
    alert_row(sink, starts_ns=split, source=f"{inp.system_dir.name}/{inp.date} normal minute {inp.normal_minute}")
    store.append(sink)
    windows = Windows(
        baseline=TimeRange(start, split),
        # Logs and spans end with the reference files; metrics alone get the 3 minutes a case has.
        incident=TimeRange(split, end if covered else split + METRICS_AFTER_NS),
        onset_ns=split,
        alert_ns=split,
        onset_reason="the fault-free window's second half",
    )
    return Loaded(windows, TimeRange(split - METRICS_BEFORE_NS, split))


def minute_ns(date: str, minute: str) -> int:
    """`2023-01-29` + `08_43` -> Unix ns of 08:43:00 UTC (the dataset's clock)."""
    hh, mm = minute.split("_", 1)
    start = datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=UTC)
    return (int(start.timestamp()) + int(hh) * 3600 + int(mm) * 60) * 1_000_000_000


def minute_files(system_dir: Path, date: str, kind: str, minutes: tuple[str, ...]) -> list[str]:
    """`<root>/<date>/<kind>/<HH_MM>_*.csv[.gz]` for each minute, from the first root that has it."""
    found: list[str] = []
    for minute in minutes:
        for root in DATA_ROOTS:
            hits = sorted((system_dir / root / date / kind).glob(f"{minute}_*.csv*"))
            if hits:
                found.extend(str(p) for p in hits)
                break
    return found


def load(inp: NezhaInput, store: TelemetryStore, sink: RowSink) -> Loaded:
    """Write the case's logs, spans, metrics and alert; return its periods."""
    notes: list[str] = []
    incident_files = {k: minute_files(inp.system_dir, inp.date, k, inp.window_minutes) for k in ("log", "trace")}
    normal: tuple[str, ...] = ()
    has_incident_files = bool(incident_files["log"] or incident_files["trace"])
    if inp.normal_minute and minute_ns(inp.date, inp.normal_minute) < minute_ns(inp.date, inp.window_minutes[0]):
        normal = (inp.normal_minute,)
    elif inp.normal_minute and has_incident_files:
        # The queries read everything from the incident start on as incident: a later normal period would
        # count as incident. Until they take a baseline on either side, the metrics' normal period stands in.
        notes.append(f"normal reference minute {inp.normal_minute} is not before the incident: not used")
    normal_files = {k: minute_files(inp.system_dir, inp.date, k, normal) for k in ("log", "trace")}
    log_range = _load_logs(store, sink, incident_files["log"], normal_files["log"])
    span_range = _load_spans(store, sink, incident_files["trace"], normal_files["trace"])
    _load_metrics(store, sink, inp)
    alert_row(sink, starts_ns=inp.inject_ns, source=f"{inp.system_dir.name}/{inp.date} inject_time")
    store.append(sink)
    inc = _union(log_range[0], span_range[0])
    base = _union(log_range[1], span_range[1])
    incident_start = inc[0] if inc else inp.inject_ns
    incident_end = max(inc[1] if inc else 0, inp.inject_ns + METRICS_AFTER_NS)
    metric_baseline = TimeRange(min(inp.inject_ns - METRICS_BEFORE_NS, incident_start), incident_start)
    if base is None:
        baseline = metric_baseline
        if has_incident_files and not notes:
            notes.append(f"no normal-period logs or traces for minute {inp.normal_minute or '(none)'}")
    else:
        baseline = TimeRange(base[0], max(base[0], min(base[1] + 1, incident_start)))
        if base[1] >= incident_start:
            # "Minute" files span 1-3 minutes and can overlap: the normal period ends where the incident starts.
            dropped = _drop_from(store, normal_files["log"] + normal_files["trace"], incident_start)
            notes.append(f"the normal reference files overlap the incident: {dropped} of their records dropped")
    windows = Windows(
        baseline=baseline,
        incident=TimeRange(incident_start, incident_end),
        onset_ns=incident_start,
        alert_ns=inp.inject_ns,
        onset_reason="the benchmark case's incident period",
    )
    return Loaded(windows, metric_baseline, tuple(notes))


def _drop_from(store: TelemetryStore, files: list[str], start_ns: int) -> int:
    """Remove records of `files` at or after `start_ns`; returns how many."""
    n = 0
    for table, column in (("logs", "ts_ns"), ("spans", "start_ns")):
        where = f"{column} >= $1 AND regexp_replace(source, ':[0-9]+$', '') IN (SELECT unnest($2::VARCHAR[]))"
        n += int(store.scalar(f"SELECT count(*) FROM {table} WHERE {where}", [start_ns, files]) or 0)
        store.execute(f"DELETE FROM {table} WHERE {where}", [start_ns, files])
    return n


def _union(a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1])


def _ranges(store: TelemetryStore, table: str, column: str) -> tuple[tuple[int, int] | None, ...]:
    """(incident, normal) time ranges of the staged rows that made it into the store."""
    out: list[tuple[int, int] | None] = []
    for flag in ("inc", "NOT inc"):
        row = store.rows(f"SELECT min({column}), max({column}) FROM {table} WHERE {flag} AND {column} IS NOT NULL")
        out.append((int(row[0][0]), int(row[0][1])) if row and row[0][0] is not None else None)
    return tuple(out)


def _stage(store: TelemetryStore, sink: RowSink, table: str, incident: list[str], normal: list[str]) -> bool:
    """Read the CSV files into a temporary table with file, line and an incident flag; False when no files."""
    store.execute(f"DROP TABLE IF EXISTS {table}")
    if not incident and not normal:
        return False
    stage_csv(store, sink, table, incident + normal)
    store.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT *, filename IN (SELECT unnest($1::VARCHAR[])) AS inc"
        f" FROM {table}",
        [incident],
    )
    return True


def _load_logs(
    store: TelemetryStore, sink: RowSink, incident: list[str], normal: list[str]
) -> tuple[tuple[int, int] | None, ...]:
    if not _stage(store, sink, "bench_nezha_logs", incident, normal):
        return None, None
    # `TimeUnixNano` has nanoseconds but is sometimes garbage (overflowed, far in the past) where the
    # `Timestamp` string is right: the string wins when the two disagree by more than a second.
    store.execute(
        "CREATE OR REPLACE TEMP TABLE bench_nezha_logs AS SELECT * EXCLUDE (nano, text_ns),"
        " CASE WHEN text_ns IS NOT NULL AND (nano IS NULL OR abs(nano - text_ns) > 1000000000) THEN text_ns"
        "  ELSE nano END AS ts FROM (SELECT *, TRY_CAST(TimeUnixNano AS BIGINT) AS nano,"
        '  epoch_ns(TRY_CAST("Timestamp" AS TIMESTAMP)) AS text_ns FROM bench_nezha_logs)'
    )
    report_unparsed(store, sink, "bench_nezha_logs", "ts IS NOT NULL", "log record without a readable time")
    text = (
        "rtrim(CASE WHEN json_valid(Log) THEN coalesce(json_extract_string(Log, '$.log'), Log)"
        " ELSE coalesce(Log, '') END, chr(10) || chr(13))"
    )
    store.execute(
        "INSERT INTO logs (ts_ns, service, level, body, trace_id, span_id, logger, exception_type, frames,"
        " attributes, source)"
        f" WITH j AS (SELECT *, {text} AS line_text FROM bench_nezha_logs WHERE ts IS NOT NULL),"
        f" p AS (SELECT *, regexp_extract(line_text, '{_JAVA_RE}', ['lvl', 'logger', 'msg']) AS m FROM j)"
        f" SELECT ts, {_SERVICE_SQL.format(pod='PodName')},"
        f" CASE WHEN m.logger <> '' THEN {_LEVEL_SQL.format(x='m.lvl')}"
        f"  ELSE {_LEVEL_SQL.format(x=_WORD_LEVEL)} END,"
        " CASE WHEN m.logger <> '' THEN m.msg ELSE line_text END,"
        " lower(coalesce(TraceID, '')), lower(coalesce(SpanID, '')), m.logger, '', '',"
        " json_object('pod', PodName, 'container', Container, 'node', Node)::VARCHAR, filename || ':' || line"
        " FROM p"
    )
    return _ranges(store, "bench_nezha_logs", "ts")


def _load_spans(
    store: TelemetryStore, sink: RowSink, incident: list[str], normal: list[str]
) -> tuple[tuple[int, int] | None, ...]:
    if not _stage(store, sink, "bench_nezha_spans", incident, normal):
        return None, None
    store.execute(
        "ALTER TABLE bench_nezha_spans ADD COLUMN ts BIGINT; ALTER TABLE bench_nezha_spans ADD COLUMN te BIGINT;"
        " UPDATE bench_nezha_spans SET ts = TRY_CAST(StartTimeUnixNano AS BIGINT),"
        " te = coalesce(TRY_CAST(EndTimeUnixNano AS BIGINT),"
        "  TRY_CAST(StartTimeUnixNano AS BIGINT) + TRY_CAST(Duration AS BIGINT) * 1000)"
    )
    valid = "ts IS NOT NULL AND te IS NOT NULL AND coalesce(TraceID, '') <> '' AND coalesce(SpanID, '') <> ''"
    report_unparsed(store, sink, "bench_nezha_spans", valid, "span without trace id, span id or readable times")
    store.execute(
        "INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, status,"
        " status_message, attributes, links, source)"
        " SELECT lower(TraceID), lower(SpanID),"
        " CASE WHEN ParentID IS NULL OR lower(ParentID) = 'root' THEN '' ELSE lower(ParentID) END,"
        f" {_SERVICE_SQL.format(pod='PodName')}, coalesce(OperationName, ''), 'UNSPECIFIED', ts, greatest(te, ts),"
        " 'UNSET', '', json_object('pod', PodName)::VARCHAR, '', filename || ':' || line"
        f" FROM bench_nezha_spans WHERE {valid}"
    )
    return _ranges(store, "bench_nezha_spans", "ts")


def _load_metrics(store: TelemetryStore, sink: RowSink, inp: NezhaInput) -> None:
    """Per-pod series (`<pod>_metric.csv.gz`), 30 min before to 3 min after injection, one row per value."""
    files = sorted(str(p) for p in (inp.system_dir / "rca_data" / inp.date / "metric").glob("*_metric.csv*"))
    if not files:
        return
    stage_csv(store, sink, "bench_nezha_metrics", files)
    store.execute(
        "CREATE OR REPLACE TEMP TABLE bench_nezha_metrics AS SELECT * EXCLUDE (p),"
        " coalesce(epoch_ns(TRY_STRPTIME(p.d || ' ' || p.c, '%Y-%m-%d %H:%M:%S'))"
        "  + coalesce(TRY_CAST(rpad(nullif(p.f, ''), 9, '0') AS BIGINT), 0)"
        "  - CASE WHEN p.s = '' THEN 0 ELSE (CASE WHEN p.s = '-' THEN -1 ELSE 1 END)"
        "   * (TRY_CAST(p.h AS BIGINT) * 3600 + TRY_CAST(p.m AS BIGINT) * 60) * 1000000000 END,"
        "  TRY_CAST(TRY_CAST(TimeStamp AS DOUBLE) * 1e9 AS BIGINT)) AS ts"
        f" FROM (SELECT *, {_TIME_PARTS_SQL} AS p FROM bench_nezha_metrics)"
    )
    report_unparsed(store, sink, "bench_nezha_metrics", "ts IS NOT NULL", "metric row without a readable time")
    lo, hi = inp.inject_ns - METRICS_BEFORE_NS, inp.inject_ns + METRICS_AFTER_NS
    store.execute(
        "CREATE OR REPLACE TEMP TABLE bench_nezha_points AS SELECT ts, PodName, filename, line, name, raw FROM"
        f" (UNPIVOT (SELECT * FROM bench_nezha_metrics WHERE ts BETWEEN {lo} AND {hi})"
        "  ON COLUMNS(* EXCLUDE (Time, TimeStamp, PodName, filename, line, ts)) INTO NAME name VALUE raw)"
    )
    report_unparsed(
        store, sink, "bench_nezha_points", "TRY_CAST(raw AS DOUBLE) IS NOT NULL", "metric value is not a number"
    )
    pod = "coalesce(nullif(PodName, ''), regexp_extract(parse_filename(filename), '^(.*)_metric', 1))"
    store.execute(
        "INSERT INTO metrics (ts_ns, service, name, labels, value, source)"
        f" SELECT ts, {_SERVICE_SQL.format(pod=pod)}, name, json_object('pod', {pod})::VARCHAR,"
        " CASE WHEN isnan(TRY_CAST(raw AS DOUBLE)) THEN NULL ELSE TRY_CAST(raw AS DOUBLE) END, filename"
        " FROM bench_nezha_points WHERE TRY_CAST(raw AS DOUBLE) IS NOT NULL"
    )
    store.execute("DROP TABLE bench_nezha_metrics; DROP TABLE bench_nezha_points")
    _load_edges(store, sink, inp)


# Online Boutique's service-mesh edge files: the p50 latency (seconds) of each `caller_callee` edge as the
# caller's proxy measures it (`source_50`) and as the callee's does (`destination_50`). They become what
# Istio reports for the same thing: labels `source_workload`, `destination_workload` and `reporter`.
EDGE_FILES = (("source_50", "source"), ("destination_50", "destination"))
EDGE_METRIC = "request_duration_seconds_p50"


def _edge_pairs(metric_dir: Path) -> list[tuple[str, str]]:
    """Caller -> callee pairs of `dependency.csv` (`Source,Target,Weight`), to split `caller_callee` columns."""
    found = sorted(metric_dir.glob("dependency.csv*"))
    if not found:
        return []
    opener = gzip.open if found[0].suffix == ".gz" else open
    with opener(found[0], "rt", newline="", encoding="utf-8") as fh:
        return [(r["Source"], r["Target"]) for r in csv.DictReader(fh) if r.get("Source") and r.get("Target")]


def _split_edge(column: str, pairs: list[tuple[str, str]]) -> tuple[str, str] | None:
    for caller, callee in pairs:
        if column == f"{caller}_{callee}":
            return caller, callee
    caller, sep, callee = column.partition("_")
    return (caller, callee) if sep and caller and callee else None


def _load_edges(store: TelemetryStore, sink: RowSink, inp: NezhaInput) -> None:
    """`source_50`/`destination_50` edge columns -> one Istio-labelled latency series per edge and reporter."""
    metric_dir = inp.system_dir / "rca_data" / inp.date / "metric"
    pairs = _edge_pairs(metric_dir)
    lo, hi = inp.inject_ns - METRICS_BEFORE_NS, inp.inject_ns + METRICS_AFTER_NS
    for stem, reporter in EDGE_FILES:
        files = sorted(str(p) for p in metric_dir.glob(f"{stem}.csv*"))
        if not files:
            continue
        stage_csv(store, sink, "bench_nezha_edges", files)
        columns = [str(r[0]) for r in store.rows("SELECT column_name FROM (DESCRIBE bench_nezha_edges)")]
        skip = ("time", "timestamp", "filename", "line")
        edges = {c: _split_edge(c, pairs) for c in columns if c.lower() not in skip}
        for column, ends in edges.items():
            if ends is None:
                sink.problem(files[0], f"edge column {column!r} is not caller_callee")
        store.execute(
            "CREATE OR REPLACE TEMP TABLE bench_nezha_edges AS SELECT * EXCLUDE (p),"
            " coalesce(epoch_ns(TRY_STRPTIME(p.d || ' ' || p.c, '%Y-%m-%d %H:%M:%S'))"
            "  + coalesce(TRY_CAST(rpad(nullif(p.f, ''), 9, '0') AS BIGINT), 0),"
            "  TRY_CAST(TRY_CAST(TimeStamp AS DOUBLE) * 1e9 AS BIGINT)) AS ts"
            f" FROM (SELECT *, {_TIME_PARTS_SQL} AS p FROM bench_nezha_edges)"
        )
        report_unparsed(store, sink, "bench_nezha_edges", "ts IS NOT NULL", "edge row without a readable time")
        for column, ends in edges.items():
            if ends is None:
                continue
            labels = orjson.dumps(
                {"source_workload": ends[0], "destination_workload": ends[1], "reporter": reporter}
            ).decode()
            store.execute(
                "INSERT INTO metrics (ts_ns, service, name, labels, value, source)"
                f' SELECT ts, $1, $2, $3, TRY_CAST("{column}" AS DOUBLE), filename FROM bench_nezha_edges'
                f' WHERE ts BETWEEN {lo} AND {hi} AND TRY_CAST("{column}" AS DOUBLE) IS NOT NULL'
                f' AND NOT isnan(TRY_CAST("{column}" AS DOUBLE))',
                [ends[1], EDGE_METRIC, labels],
            )
        store.execute("DROP TABLE bench_nezha_edges")
