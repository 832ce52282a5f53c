"""One investigation: query the telemetry store, analyse, rank hypotheses, locate code, build the brief."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from incidentlens.analyze.changes import change_findings, change_window
from incidentlens.analyze.edges import edge_latency_findings
from incidentlens.analyze.evidence_ids import strength
from incidentlens.analyze.findings import Analysis
from incidentlens.analyze.locus import find_loci
from incidentlens.analyze.logs import log_findings
from incidentlens.analyze.metrics import metric_findings
from incidentlens.analyze.topology import build_graph, involved_edges
from incidentlens.analyze.traces import error_origin_findings, latency_findings, silence_findings
from incidentlens.analyze.windows import DEFAULT_SEARCH_BEFORE_ALERT_NS, Windows, choose_windows, detect_onset
from incidentlens.diagnose.hypotheses import build_hypotheses
from incidentlens.diagnose.rank import score_services
from incidentlens.errors import InputError, RepositoryError
from incidentlens.memory.observe import symptoms_of, trace_features
from incidentlens.memory.prior import apply_prior
from incidentlens.memory.retrieve import Recall, seen_before
from incidentlens.model import Evidence, EvidenceKind, FaultKind, Finding, Hypothesis, TimeRange
from incidentlens.pictures import exemplar_trace, metric_series
from incidentlens.propose.suggest import suggest_fixes
from incidentlens.report.brief import (
    Brief,
    Impact,
    RankedHypothesis,
    TimelineEntry,
    iso,
)
from incidentlens.telemetry.logqueries import log_message_groups
from incidentlens.telemetry.queries import (
    TelemetryQueries,
    edge_gaps,
    entry_stats,
    exception_frames,
    logger_counts,
    logger_counts_by_service,
    new_statements,
)
from incidentlens.telemetry.store import TelemetryStore

ONSET_BIN_NS = 30 * 1_000_000_000
LOCATE_TOP = 3
MAX_LOCI = 3

Locator = Callable[[Hypothesis, TelemetryQueries, Windows, dict[str, Evidence]], tuple[Hypothesis, tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class Investigation:
    brief: Brief
    hypotheses: tuple[Hypothesis, ...]
    evidence: dict[str, Evidence]
    windows: Windows


def find_windows(queries: TelemetryQueries) -> Windows:
    bounds = queries.bounds()
    if bounds is None:
        raise InputError("no logs, spans or metrics to investigate: ingest telemetry first")
    firing = [a for a in queries.alerts() if a.starts_ns and bounds.start_ns <= a.starts_ns <= bounds.end_ns]
    alert_ns = firing[0].starts_ns if firing else None
    whole = TimeRange(bounds.start_ns, bounds.end_ns)
    if alert_ns is not None:
        search_from, search_to = alert_ns - DEFAULT_SEARCH_BEFORE_ALERT_NS, alert_ns
    else:
        search_from, search_to = bounds.start_ns + (bounds.end_ns - bounds.start_ns) // 3, bounds.end_ns
    timeline = queries.error_timeline(whole, ONSET_BIN_NS, reference_end_ns=search_from)
    onset = detect_onset(timeline, search_from_ns=search_from, search_to_ns=search_to)
    return choose_windows(data_start_ns=bounds.start_ns, data_end_ns=bounds.end_ns, alert_ns=alert_ns, onset_ns=onset)


def analyse(queries: TelemetryQueries, windows: Windows, *, metric_baseline: TimeRange | None = None) -> Analysis:
    """`metric_baseline`: a longer normal period for metrics (60 s series need more points than one minute)."""
    base, inc = windows.baseline, windows.incident
    volumes = queries.service_volumes(base, inc)
    known = {s.service for s in volumes if s.baseline_spans or s.incident_spans}
    result = Analysis()
    result.extend(
        error_origin_findings(queries.error_origins(base, inc), known_services=known, baseline=base, incident=inc)
    )
    result.extend(edge_latency_findings(edge_gaps(queries, base, inc), incident=inc))
    result.extend(latency_findings(queries.self_time_shifts(base, inc), known_services=known, incident=inc))
    result.extend(silence_findings(volumes, baseline=base, incident=inc))
    result.extend(log_findings(log_message_groups(queries.store, base, inc), baseline=base, incident=inc))
    result.extend(metric_findings(queries.metric_shifts(metric_baseline or base, inc), incident=inc))
    result.extend(code_path_findings(queries, base, inc))
    result.extend(change_findings(queries.changes(change_window(windows.onset_ns)), onset_ns=windows.onset_ns))
    return result


def code_path_findings(queries: TelemetryQueries, base: TimeRange, inc: TimeRange) -> Analysis:
    """Services whose own log statements show a code path that stopped part-way (see `analyze/locus.py`).

    A path that stopped for every request is strong evidence; one that still completes for most is weak.
    """
    out = Analysis()
    for service, counts in logger_counts_by_service(queries, base, inc).items():
        regions = [locus for locus in find_loci(counts, service=service, incident=inc) if locus.is_region]
        if regions:
            best = regions[0]
            finding = Finding(
                "code_path",
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
    store: TelemetryStore,
    *,
    title: str | None = None,
    locator: Locator | None = None,
    inputs: dict[str, int] | None = None,
    notes: tuple[str, ...] = (),
    windows: Windows | None = None,
    metric_baseline: TimeRange | None = None,
    recall: Recall | None = None,
) -> Investigation:
    """Run every deterministic stage over what the store holds.

    `windows` replaces `find_windows` when the caller knows the normal period and the alert (a benchmark
    case, a review of a past incident); `metric_baseline` then gives metrics their own, longer normal period.
    `recall` looks the incident's symptoms up in the memory of resolved incidents (see `memory/`).
    """
    queries = TelemetryQueries(store)
    windows = windows if windows is not None else find_windows(queries)
    analysis = analyse(queries, windows, metric_baseline=metric_baseline)
    bounds = queries.bounds()
    if bounds is None:  # only reachable with caller-given windows: find_windows raises first otherwise
        raise InputError("no logs, spans or metrics to investigate: ingest telemetry first")
    graph = build_graph(queries.edges(TimeRange(bounds.start_ns, bounds.end_ns)))
    scores = score_services(analysis.findings, graph)
    hypotheses, abstained = build_hypotheses(scores, analysis.evidence)
    hypotheses = [with_locus(h, queries, windows, analysis) if i < LOCATE_TOP else h for i, h in enumerate(hypotheses)]
    locate_notes: list[str] = []
    if locator is not None:
        for i, h in enumerate(hypotheses[:LOCATE_TOP]):
            hypotheses[i], found_notes = locator(h, queries, windows, analysis.evidence)
            locate_notes.extend(n for n in found_notes if n not in locate_notes)
    affected = tuple(sorted({s.service for s in scores if s.score >= 0.2}))
    symptoms = symptoms_of(
        evidence=analysis.evidence,
        hypotheses=hypotheses,
        edges=[(a, b) for a, b in graph.edges],
        affected=affected,
        traces=trace_features(queries, [h.service for h in hypotheses[:LOCATE_TOP]], windows),
    )
    matches = recall(symptoms) if recall is not None else []
    hypotheses, memory_notes = apply_prior(hypotheses, matches)
    if memory_notes:  # a bounded prior can reorder close candidates; the evidence-based abstention stands
        hypotheses.sort(key=lambda h: -h.confidence)
    ranked = tuple(
        RankedHypothesis(
            rank=i + 1,
            hypothesis=h,
            evidence_for=tuple(analysis.evidence[e] for e in h.supporting if e in analysis.evidence),
            evidence_against=tuple(analysis.evidence[e] for e in h.contradicting if e in analysis.evidence),
            fixes=tuple(suggest_fixes(h, analysis.evidence)),
            memory_notes=memory_notes.get(h.id, ()),
        )
        for i, h in enumerate(hypotheses)
    )
    stats = entry_stats(queries, windows.baseline, windows.incident)
    alerts = queries.alerts()
    impact = Impact(
        affected_services=affected,
        error_rate_before=stats.error_rate_before,
        error_rate_during=stats.error_rate_during,
        latency_p95_before_ms=stats.p95_before_ms,
        latency_p95_during_ms=stats.p95_during_ms,
        alerts=tuple(f"{a.name} ({a.service or 'no service'}, {a.severity}) at {iso(a.starts_ns)}" for a in alerts[:5]),
    )
    brief = Brief(
        title=title or _title(alerts[0].name if alerts else "", ranked, abstained),
        generated_at=datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        summary=_summary(ranked, abstained, impact),
        abstained=abstained,
        onset_ns=windows.onset_ns,
        onset_reason=windows.onset_reason,
        alert_ns=windows.alert_ns,
        baseline=(windows.baseline.start_ns, windows.baseline.end_ns),
        incident=(windows.incident.start_ns, windows.incident.end_ns),
        impact=impact,
        timeline=_timeline(analysis, windows, alerts_ns=[(a.starts_ns, a.name, a.service) for a in alerts]),
        graph=tuple(involved_edges(graph, set(affected) | {h.service for h in hypotheses})),
        hypotheses=ranked,
        next_steps=_next_steps(ranked, abstained),
        inputs=inputs or store.counts(),
        notes=(*notes, *locate_notes),
        severity=alerts[0].severity if alerts and alerts[0].severity else "unknown",
        alert_fingerprint=alerts[0].fingerprint if alerts else "",
        seen_before=seen_before(matches, hypotheses),
        symptoms=symptoms,
        exemplar_trace=exemplar_trace(queries, ranked[:1]),
        metric_series=metric_series(queries, ranked[:LOCATE_TOP], onset_ns=windows.onset_ns),
    )
    return Investigation(brief, tuple(hypotheses), analysis.evidence, windows)


def with_locus(h: Hypothesis, queries: TelemetryQueries, windows: Windows, analysis: Analysis) -> Hypothesis:
    """The hypothesis with the code region where its service's behaviour changed, when its logs show one."""
    loci = find_loci(
        logger_counts(queries, h.service, windows.baseline, windows.incident),
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


def _title(alert_name: str, ranked: tuple[RankedHypothesis, ...], abstained: bool) -> str:
    head = f"Incident brief: {alert_name}" if alert_name else "Incident brief"
    if ranked and not abstained:
        return f"{head} — leading hypothesis: {ranked[0].hypothesis.service}"
    return head


def _summary(ranked: tuple[RankedHypothesis, ...], abstained: bool, impact: Impact) -> str:
    if not ranked:
        return "Not enough evidence: no service shows an anomaly against the normal period."
    top = ranked[0].hypothesis
    lead = (
        f"Not enough evidence for a confident root cause; the strongest candidate is {top.service} "
        f"(confidence {top.confidence:.2f})."
        if abstained
        else f"HYPOTHESIS (confidence {top.confidence:.2f}): {top.claim}."
    )
    others = ", ".join(f"{rh.hypothesis.service} ({rh.hypothesis.confidence:.2f})" for rh in ranked[1:3])
    tail = f" Other candidates: {others}." if others else ""
    affected = ", ".join(impact.affected_services) or "none"
    return f"{lead}{tail} Affected services: {affected}. Based on {len(ranked[0].evidence_for)} evidence records."


def _timeline(
    analysis: Analysis, windows: Windows, *, alerts_ns: list[tuple[int, str, str]]
) -> tuple[TimelineEntry, ...]:
    entries: list[TimelineEntry] = [TimelineEntry(ts, "alert", svc, name) for ts, name, svc in alerts_ns if ts]
    entries.append(TimelineEntry(windows.onset_ns, "onset", "", windows.onset_reason))
    for f in analysis.findings:
        if f.analyzer == "changes" and f.score < 0.05:
            continue
        if f.onset_ns is None:
            continue
        ev = analysis.evidence.get(f.evidence_ids[0]) if f.evidence_ids else None
        text = ev.summary if ev is not None else f.detail
        kind = "change" if f.analyzer == "changes" else "first anomaly"
        entries.append(TimelineEntry(f.onset_ns, kind, f.service, text, f.evidence_ids[0] if f.evidence_ids else ""))
    entries.sort(key=lambda e: (e.ts_ns, e.kind, e.service))
    return tuple(entries[:40])


def _next_steps(ranked: tuple[RankedHypothesis, ...], abstained: bool) -> tuple[str, ...]:
    if not ranked:
        return ("Widen the time range or add traces/metrics for the affected services, then investigate again.",)
    steps: list[str] = []
    top = ranked[0].hypothesis
    steps.append(
        f"Check hypothesis 1 against its predictions: {top.predictions[0].confirms_if}."
        if top.predictions
        else f"Check hypothesis 1 on {top.service}."
    )
    if top.owners:
        steps.append(f"Engage the owner of {top.service}: {top.owners[0].name}.")
    if ranked[0].fixes:
        steps.append(f"Review the suggestion '{ranked[0].fixes[0].title}' and approve it only if the evidence holds.")
    if abstained:
        steps.append("Evidence is weak: gather more telemetry (traces, metrics) around the onset before acting.")
    steps.append("Confirm or refute each hypothesis so the ledger records the decision.")
    return tuple(steps)


def default_repo_locator(repo: Path) -> Locator:
    """A locator that maps a hypothesis to code, commits and owners in `repo` (see `locate/`)."""
    from incidentlens.locate.hypothesis import locate_hypothesis
    from incidentlens.locate.statements import NewStatement

    def _locate(
        h: Hypothesis, queries: TelemetryQueries, windows: Windows, evidence: dict[str, Evidence]
    ) -> tuple[Hypothesis, tuple[str, ...]]:
        frame_sets = [g.frames for g in exception_frames(queries, h.service, windows.incident)]
        templates = [
            str(evidence[e].attributes["template"])
            for e in h.supporting
            if e in evidence and evidence[e].kind is EvidenceKind.LOG_TEMPLATE and "template" in evidence[e].attributes
        ]
        statements = [
            NewStatement(op, text, previous)
            for op, text, previous in new_statements(queries, h.service, windows.baseline, windows.incident)
        ]
        try:
            return locate_hypothesis(
                repo, h, frame_sets, onset_ns=windows.onset_ns, templates=templates, statements=statements
            )
        except RepositoryError as exc:
            return h, (f"code location skipped: {exc}",)

    return _locate
