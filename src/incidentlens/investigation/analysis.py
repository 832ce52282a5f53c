"""The deterministic core of an investigation: windows, every analyser, ranked hypotheses.

It reads telemetry only through `TelemetryQueries`, so it runs the same over the local store or a backend
that answers by pushdown. Optional steps (`steps.py`) and the brief (`brief.py`) come after it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime

import networkx as nx

from incidentlens.analyze.call_edges import call_edge_findings, call_graph_edges, edge_series
from incidentlens.analyze.changepoints import Onset, estimate_onset
from incidentlens.analyze.changes import change_findings, change_window
from incidentlens.analyze.deploys import DEPLOY_SERIES, deploy_findings
from incidentlens.analyze.edges import edge_latency_findings
from incidentlens.analyze.evidence_ids import strength
from incidentlens.analyze.findings import Analysis
from incidentlens.analyze.locus import find_loci
from incidentlens.analyze.logs import log_findings
from incidentlens.analyze.metrics import MetricKind, metric_findings, metric_kind
from incidentlens.analyze.onset import metric_symptom_series, span_series
from incidentlens.analyze.topology import build_graph
from incidentlens.analyze.traces import error_origin_findings, latency_findings, silence_findings
from incidentlens.analyze.windows import (
    DEFAULT_SEARCH_BEFORE_ALERT_NS,
    Windows,
    choose_windows,
    detect_onset,
    metric_onset,
)
from incidentlens.diagnose.hypotheses import build_hypotheses
from incidentlens.diagnose.rank import ServiceScore, score_services
from incidentlens.errors import InputError
from incidentlens.memory.fingerprint import Symptoms
from incidentlens.memory.index import Match
from incidentlens.model import AnalyzerKind, ChangeKind, FaultKind, Finding, Hypothesis, TimeRange
from incidentlens.telemetry.protocol import TelemetryQueries

ONSET_BIN_NS = 30 * 1_000_000_000
CHANGE_POINT_BIN_NS = 60 * 1_000_000_000  # per-minute series for change points
# Names that may be error or latency series (the metric analysis decides which kind each is).
SYMPTOM_NAMES = r"(?i)error|fail|5xx|success|exception|latency|duration|response_time|p50|p9\d|seconds|_ms"
# Cumulative counters (and histogram parts) always climb: their departure from a level says nothing of an onset.
CUMULATIVE = ("_total", "_sum", "_count", "_bucket")
LOCATE_TOP = 3  # hypotheses that get code regions, code locations and trace features
MAX_LOCI = 3


@dataclass(frozen=True)
class Investigation:
    """One investigation in flight: what the analysis found, refined by optional steps.

    `queries` stays usable until the run that created it ends (steps read more telemetry through it).
    `analysis.evidence` may grow as steps add evidence; hypotheses cite evidence ids in it.
    """

    queries: TelemetryQueries
    windows: Windows
    analysis: Analysis
    graph: nx.DiGraph
    scores: tuple[ServiceScore, ...]
    hypotheses: tuple[Hypothesis, ...]
    abstained: bool
    notes: tuple[str, ...] = ()
    memory_notes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # hypothesis id -> notes
    matches: tuple[Match, ...] = ()
    symptoms: Symptoms | None = None

    @property
    def affected(self) -> tuple[str, ...]:
        return tuple(sorted({s.service for s in self.scores if s.score >= 0.2}))


def detect_windows(
    queries: TelemetryQueries,
    *,
    alert_ns: int | None = None,
    onset_ns: int | None = None,
    within: TimeRange | None = None,
) -> Windows:
    """Normal period, incident and onset from the data, narrowed to `within` when the window was given.

    The onset is `onset_ns` when given, else the strongest change point of a service's error or
    latency series before the alert (or in the last two thirds of the data without an alert), else the first
    sustained departure of all errors or slow requests, else a moment fixed by the alert.
    """
    bounds = queries.bounds()
    if bounds is None:
        raise InputError("no logs, spans or metrics to investigate: ingest telemetry first")
    start, end = bounds.start_ns, bounds.end_ns
    if within is not None:
        start, end = max(start, within.start_ns), max(min(end, within.end_ns), max(start, within.start_ns))
    if alert_ns is None:
        firing = [a for a in queries.alerts() if a.starts_ns and start <= a.starts_ns <= end]
        alert_ns = firing[0].starts_ns if firing else None
    if onset_ns is None:
        if alert_ns is not None:
            search_from, search_to = alert_ns - DEFAULT_SEARCH_BEFORE_ALERT_NS, alert_ns
        else:
            search_from, search_to = start + (end - start) // 3, end
        found = change_point_onset(queries, TimeRange(start, end), search_from_ns=search_from, search_to_ns=search_to)
        if found is not None:
            windows = choose_windows(data_start_ns=start, data_end_ns=end, alert_ns=alert_ns, onset_ns=found.ts_ns)
            at = datetime.fromtimestamp(found.ts_ns / 1e9, tz=UTC).strftime("%H:%M")
            return dataclasses.replace(
                windows,
                onset_reason=f"onset estimated at {at} from {found.reason}",
                onset_resolution_ns=found.resolution_ns,
            )
        timeline = queries.error_timeline(TimeRange(start, end), ONSET_BIN_NS, reference_end_ns=search_from)
        onset_ns = detect_onset(timeline, search_from_ns=search_from, search_to_ns=search_to)
        if onset_ns is None and not any(b[1] or b[2] or b[3] for b in timeline):
            # No spans or logs to count errors in: the symptom metrics say when it started.
            symptoms = [
                s
                for s in queries.metric_series(TimeRange(start, end), SYMPTOM_NAMES)
                if metric_kind(s.name) in (MetricKind.ERRORS, MetricKind.LATENCY) and not s.name.endswith(CUMULATIVE)
            ]
            onset_ns = metric_onset(
                symptoms, reference_end_ns=search_from, search_from_ns=search_from, search_to_ns=search_to
            )
            if onset_ns is not None:
                windows = choose_windows(data_start_ns=start, data_end_ns=end, alert_ns=alert_ns, onset_ns=onset_ns)
                return dataclasses.replace(
                    windows, onset_reason="error or latency metrics depart from their normal level"
                )
        return choose_windows(data_start_ns=start, data_end_ns=end, alert_ns=alert_ns, onset_ns=onset_ns)
    windows = choose_windows(data_start_ns=start, data_end_ns=end, alert_ns=alert_ns, onset_ns=onset_ns)
    return dataclasses.replace(windows, onset_reason="given by the user")


def change_point_onset(
    queries: TelemetryQueries, span: TimeRange, *, search_from_ns: int, search_to_ns: int
) -> Onset | None:
    """The strongest change point of a service's error or latency series (spans and symptom metrics)."""
    bins = queries.service_timeline(span, CHANGE_POINT_BIN_NS)
    series = span_series(bins, start_ns=span.start_ns, end_ns=span.end_ns, bin_ns=CHANGE_POINT_BIN_NS)
    symptoms = [s for s in queries.metric_series(span, SYMPTOM_NAMES) if not s.name.endswith(CUMULATIVE)]
    series += metric_symptom_series(symptoms)
    return estimate_onset(series, search_from_ns=search_from_ns, search_to_ns=search_to_ns)


def analyse(queries: TelemetryQueries, windows: Windows, *, metric_baseline: TimeRange | None = None) -> Analysis:
    """Every analyser over the windows. `metric_baseline`: a longer normal period for metrics (60 s series
    need more points than one minute)."""
    base, inc = windows.baseline, windows.incident
    volumes = queries.service_volumes(base, inc)
    known = {s.service for s in volumes if s.baseline_spans or s.incident_spans}
    result = Analysis()
    result.extend(
        error_origin_findings(queries.error_origins(base, inc), known_services=known, baseline=base, incident=inc)
    )
    result.extend(edge_latency_findings(queries.edge_gaps(base, inc), incident=inc))
    result.extend(latency_findings(queries.self_time_shifts(base, inc), known_services=known, incident=inc))
    result.extend(silence_findings(volumes, baseline=base, incident=inc))
    result.extend(log_findings(queries.log_message_groups(base, inc), baseline=base, incident=inc))
    result.extend(metric_findings(queries.metric_shifts(metric_baseline or base, inc), incident=inc))
    mbase = metric_baseline or base
    edges = edge_series(queries.edge_series(TimeRange(min(mbase.start_ns, inc.start_ns), inc.end_ns)))
    result.extend(call_edge_findings(edges, baseline=mbase, incident=inc))
    result.extend(code_path_findings(queries, base, inc))
    changes = queries.changes(change_window(windows.onset_ns))
    result.extend(change_findings(changes, onset_ns=windows.onset_ns, onset_tolerance_ns=windows.onset_resolution_ns))
    result.extend(rollout_findings(queries, windows, metric_baseline or base))
    return result


def rollout_findings(queries: TelemetryQueries, windows: Windows, baseline: TimeRange) -> Analysis:
    """Deploy-aware analysis of every deploy from the look-back window to the end of the data; per-pod and
    per-edge series are read only when there is a deploy to judge."""
    inc = windows.incident
    changes = queries.changes(TimeRange(change_window(windows.onset_ns).start_ns, inc.end_ns))
    if not any(ch.kind is ChangeKind.DEPLOY for ch in changes):
        return Analysis()
    span = TimeRange(baseline.start_ns, inc.end_ns)
    return deploy_findings(
        changes,
        queries.labelled_series(span, DEPLOY_SERIES),
        queries.metric_series(span, SYMPTOM_NAMES),
        normal_end_ns=windows.baseline.end_ns,
        incident=inc,
    )


def code_path_findings(queries: TelemetryQueries, base: TimeRange, inc: TimeRange) -> Analysis:
    """Services whose own log statements show a code path that stopped part-way (see `analyze/locus.py`).

    A path that stopped for every request is strong evidence; one that still completes for most is weak.
    """
    out = Analysis()
    for service, counts in queries.logger_counts_by_service(base, inc).items():
        regions = [locus for locus in find_loci(counts, service=service, incident=inc) if locus.is_region]
        if regions:
            best = regions[0]
            finding = Finding(
                AnalyzerKind.CODE_PATH,
                service,
                FaultKind.CODE,
                strength(best.score, 10.0) * best.stopped_share,
                (best.evidence.id,),
                None,
                best.evidence.summary,
            )
            out.add(best.evidence, finding)
    return out


def investigate(
    queries: TelemetryQueries, windows: Windows, *, metric_baseline: TimeRange | None = None
) -> Investigation:
    """Analyse, rank services into hypotheses, and give the leading ones the code region their logs show."""
    analysis = analyse(queries, windows, metric_baseline=metric_baseline)
    bounds = queries.bounds()
    if bounds is None:
        raise InputError("no logs, spans or metrics to investigate: ingest telemetry first")
    everything = TimeRange(bounds.start_ns, bounds.end_ns)
    graph = build_graph(queries.edges(everything) + call_graph_edges(edge_series(queries.edge_series(everything))))
    scores = score_services(analysis.findings, graph)
    hypotheses, abstained = build_hypotheses(scores, analysis.evidence)
    located = tuple(
        with_locus(h, queries, windows, analysis) if i < LOCATE_TOP else h for i, h in enumerate(hypotheses)
    )
    return Investigation(queries, windows, analysis, graph, tuple(scores), located, abstained)


def with_locus(h: Hypothesis, queries: TelemetryQueries, windows: Windows, analysis: Analysis) -> Hypothesis:
    """The hypothesis with the code region where its service's behaviour changed, when its logs show one."""
    loci = find_loci(
        queries.logger_counts(h.service, windows.baseline, windows.incident),
        service=h.service,
        incident=windows.incident,
    )[:MAX_LOCI]
    if not loci:
        return h
    for locus in loci:
        analysis.add(locus.evidence)
    return dataclasses.replace(
        h,
        component=" | ".join(locus.text for locus in loci),
        supporting=(*h.supporting, *(locus.evidence.id for locus in loci)),
    )
