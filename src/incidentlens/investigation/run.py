"""The one way to run an investigation, whatever the edge (CLI, web worker, benchmark, memory, verify-fix).

1. Local sources (files, a queued alert) are read into a private store.
2. The window is decided: the user's times, else the first firing alert, else (files only) the data.
3. Live sources fetch that window; a failing source becomes a note in the brief, not a failure.
4. The deterministic analysis, then the optional steps, then the brief with its Sources section.
Recording is separate (`record.py`), so a worker process can investigate and its parent record.
"""

from __future__ import annotations

import time

from incidentlens.errors import ConfigError, InputError, SourceError
from incidentlens.ingest.common import paused_gc
from incidentlens.ingest.sink import RowSink
from incidentlens.investigation.analysis import Investigation, detect_windows, investigate
from incidentlens.investigation.brief import build_brief
from incidentlens.investigation.private_store import private_store
from incidentlens.investigation.request import InvestigationRequest, InvestigationResult
from incidentlens.investigation.steps import Step, locate_code, recall_memory
from incidentlens.investigation.window import fetch_window
from incidentlens.model import Alert, TimeRange
from incidentlens.report.brief import iso
from incidentlens.sources.protocol import PushdownSource, PushdownTelemetry, Source, SourceQuery, SourceReport
from incidentlens.telemetry.protocol import TelemetryQueries
from incidentlens.telemetry.queries import DuckDBQueries
from incidentlens.telemetry.store import TelemetryStore

SIGNALS = ("logs", "spans", "metrics")
_SIGNAL_WORDS = {"logs": "logs", "spans": "traces", "metrics": "metrics"}


def run(request: InvestigationRequest) -> InvestigationResult:
    """Investigate in a private store (see the module docstring for the order of work): in memory, or on disk
    for big inputs (see `private_store`)."""
    with private_store(request) as store:
        return run_on_store(store, request)


def run_on_store(store: TelemetryStore, request: InvestigationRequest) -> InvestigationResult:
    """Load the request's sources into `store` (which may already hold data, e.g. a benchmark case or the
    workspace written by `incidentlens ingest`) and investigate what it holds, or, with a pushdown source
    (ClickHouse), investigate where its data lives."""
    pushdown = [s for s in request.sources if isinstance(s, PushdownSource)]
    if len(pushdown) > 1:
        names = ", ".join(s.name for s in pushdown)
        raise ConfigError(f"one source analysed in place per investigation, got {names}: pick one with --source")
    try:
        return _run(store, request, pushdown[0] if pushdown else None)
    finally:
        for source in pushdown:
            source.close()


def _run(store: TelemetryStore, request: InvestigationRequest, pushdown: PushdownSource | None) -> InvestigationResult:
    local_queries = DuckDBQueries(store)
    queries: TelemetryQueries = local_queries
    local = [s for s in request.sources if not s.live]
    live = [s for s in request.sources if s.live]
    reports: list[SourceReport] = []
    unbounded = TimeRange(0, 2**62)
    for source in local:
        reports.append(_load(store, source, SourceQuery(unbounded, unbounded, request.services), request))
    query: SourceQuery | None = None
    alert = _first_firing_alert(queries)
    if live or request.window.given:
        query = fetch_window(
            request,
            alert_ns=alert.starts_ns if alert else None,
            alert_end_ns=alert.ends_ns if alert else 0,
            now_ns=time.time_ns(),
        )
    for source in live:
        assert query is not None  # fetch_window raised otherwise
        reports.append(_load(store, source, query, request))
    pushed: PushdownTelemetry | None = None
    if pushdown is not None and query is not None and not _failed(reports, pushdown.name):
        pushed = queries = pushdown.telemetry(query, local_queries)
        _note_unanalysed(store, reports, pushdown.name)
    if queries.bounds() is None:
        raise InputError(_nothing_loaded(reports))
    request.progress("analysing")
    # The alert fixes the onset search only when it lies in the fetched window; otherwise (files) detection
    # takes the first alert inside the data, as it always has.
    in_window = alert is not None and query is not None and query.window.start_ns <= alert.starts_ns
    windows = request.windows or detect_windows(
        queries,
        alert_ns=alert.starts_ns if alert is not None and in_window else None,
        onset_ns=request.window.onset_ns,
        within=query.window if query is not None else None,
    )
    with paused_gc():  # template mining and grouping make many short-lived objects, no cycles
        inv = investigate(queries, windows, metric_baseline=request.metric_baseline)
    for step in _steps(request):
        inv = step(inv)
    request.progress("writing the brief")
    brief = build_brief(
        inv,
        inputs=pushed.counts() if pushed is not None else store.counts(),
        title=request.title,
        notes=tuple(note for r in reports for note in _notes_of(r)),
        sources=tuple(reports),
        coverage_gaps=coverage_gaps(queries, reports),
        warnings=alert_warnings(queries, query.window if query is not None else None),
    )
    return InvestigationResult(brief, inv.hypotheses, dict(inv.analysis.evidence), windows, tuple(reports))


def _failed(reports: list[SourceReport], name: str) -> bool:
    return any(r.name == name and r.failed for r in reports)


def _note_unanalysed(store: TelemetryStore, reports: list[SourceReport], pushdown: str) -> None:
    """Logs, spans or metrics other sources loaded are not part of an analysis done in place: say so."""
    held = {t: n for t, n in store.counts().items() if t in SIGNALS and n}
    if not held:
        return
    what = ", ".join(f"{n} {_SIGNAL_WORDS[t]} rows" for t, n in sorted(held.items()))
    for report in reports:
        if report.name == pushdown:
            report.errors.append(
                f"{what} from other sources were not analysed: {pushdown} answers for logs, traces and metrics"
            )


def _steps(request: InvestigationRequest) -> list[Step]:
    steps: list[Step] = []
    if request.repository is not None:
        steps.append(_announced(request, "locating code", locate_code(request.repository)))
    if request.recall is not None:
        steps.append(_announced(request, "looking up similar incidents", recall_memory(request.recall)))
    steps.extend(request.steps)
    return steps


def _announced(request: InvestigationRequest, what: str, step: Step) -> Step:
    def announced(inv: Investigation) -> Investigation:
        request.progress(what)
        return step(inv)

    return announced


def _load(store: TelemetryStore, source: Source, query: SourceQuery, request: InvestigationRequest) -> SourceReport:
    """One source into the store, atomically: a source that fails leaves none of its rows behind."""
    request.progress(f"{source.name}: loading ({source.kind})")
    started = time.perf_counter()
    try:
        with store.transaction():
            sink = RowSink(require_time=True)
            sink.attach(store.append_buffer, store)
            report = source.load(query, sink, request.progress)
            store.append(sink)
    except SourceError as exc:
        report = SourceReport(source.name, source.kind, "", failed=True, errors=[str(exc)])
    report.seconds = report.seconds or time.perf_counter() - started
    return report


def _notes_of(report: SourceReport) -> list[str]:
    """What the brief's notes repeat from a source: failures and cuts a reader must not miss."""
    head = f"source {report.name} ({report.kind})"
    notes = [f"{head} failed: {e}" if report.failed else f"{head}: {e}" for e in report.errors]
    notes.extend(f"{head}: {t}" for t in report.truncated)
    return notes


def _nothing_loaded(reports: list[SourceReport]) -> str:
    if not reports:
        return "nothing to investigate: give files, a bundle folder or --source"
    said = "; ".join(f"{r.name}: {r.errors[0] if r.errors else 'no rows in the window'}" for r in reports)
    return f"no logs, spans or metrics to investigate ({said})"


def _first_firing_alert(queries: TelemetryQueries) -> Alert | None:
    alerts = [a for a in queries.alerts() if a.starts_ns]
    return alerts[0] if alerts else None


def alert_warnings(queries: TelemetryQueries, within: TimeRange | None) -> tuple[str, ...]:
    """Alerts that lie outside the telemetry (or the window read): they cannot anchor the onset, and a reader
    must know the brief is about the data, not the alert."""
    bounds = queries.bounds()
    if bounds is None:
        return ()
    start, end = bounds.start_ns, bounds.end_ns
    if within is not None:
        start, end = max(start, within.start_ns), min(end, within.end_ns)
    out: list[str] = []
    for alert in queries.alerts():
        if not alert.starts_ns or start <= alert.starts_ns <= end:
            continue
        side = "before" if alert.starts_ns < start else "after"
        out.append(
            f"alert {alert.name} fired at {iso(alert.starts_ns)}, {side} the data ({iso(start)} to {iso(end)}): "
            "it did not set the window; the onset comes from the data alone"
        )
    return tuple(out[:3]) + ((f"and {len(out) - 3} more alerts outside the data",) if len(out) > 3 else ())


def coverage_gaps(queries: TelemetryQueries, reports: list[SourceReport]) -> tuple[str, ...]:
    """Signals no source returned at all, and services that have some signals but not ones others have."""
    by_signal = queries.services_by_signal()
    gaps: list[str] = []
    everyone = set().union(*by_signal.values()) if by_signal else set()
    for signal in SIGNALS:
        word = _SIGNAL_WORDS[signal]
        covered = by_signal.get(signal, set())
        if not covered:
            gaps.append(f"no {word} from any source")
            continue
        missing = sorted(everyone - covered)
        if missing:
            shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            gaps.append(f"no {word} for {shown}")
    failed = [r.name for r in reports if r.failed]
    if failed:
        gaps.append(f"source(s) that did not answer: {', '.join(failed)}")
    return tuple(gaps)
