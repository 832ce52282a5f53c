"""The brief of an investigation: title, summary, impact, timeline, next steps, pictures and sources.

Built after the analysis and its optional steps, from what they found; the renderers in `report/` only
format it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from incidentlens.analyze.topology import involved_edges
from incidentlens.diagnose.analyzers import Role, spec
from incidentlens.investigation.analysis import LOCATE_TOP, Investigation
from incidentlens.investigation.pictures import exemplar_trace, metric_series
from incidentlens.investigation.steps import symptoms
from incidentlens.memory.retrieve import seen_before
from incidentlens.propose.suggest import suggest_fixes
from incidentlens.report.brief import (
    Brief,
    Impact,
    InputFileLine,
    RankedHypothesis,
    SourceSummary,
    TimelineEntry,
    iso,
)
from incidentlens.sources.protocol import SourceReport

MAX_TIMELINE = 40
NEGLIGIBLE_CHANGE = 0.05


def build_brief(
    inv: Investigation,
    *,
    inputs: dict[str, int],
    title: str | None = None,
    notes: tuple[str, ...] = (),
    sources: tuple[SourceReport, ...] = (),
    coverage_gaps: tuple[str, ...] = (),
) -> Brief:
    evidence = inv.analysis.evidence
    ranked = tuple(
        RankedHypothesis(
            rank=i + 1,
            hypothesis=h,
            evidence_for=tuple(evidence[e] for e in h.supporting if e in evidence),
            evidence_against=tuple(evidence[e] for e in h.contradicting if e in evidence),
            fixes=tuple(suggest_fixes(h, evidence)),
            memory_notes=inv.memory_notes.get(h.id, ()),
        )
        for i, h in enumerate(inv.hypotheses)
    )
    windows, queries = inv.windows, inv.queries
    stats = queries.entry_stats(windows.baseline, windows.incident)
    alerts = queries.alerts()
    impact = Impact(
        affected_services=inv.affected,
        error_rate_before=stats.error_rate_before,
        error_rate_during=stats.error_rate_during,
        latency_p95_before_ms=stats.p95_before_ms,
        latency_p95_during_ms=stats.p95_during_ms,
        alerts=tuple(f"{a.name} ({a.service or 'no service'}, {a.severity}) at {iso(a.starts_ns)}" for a in alerts[:5]),
    )
    return Brief(
        title=title or _title(alerts[0].name if alerts else "", ranked, inv.abstained),
        generated_at=datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        summary=_summary(ranked, inv.abstained, impact),
        abstained=inv.abstained,
        onset_ns=windows.onset_ns,
        onset_reason=windows.onset_reason,
        alert_ns=windows.alert_ns,
        baseline=(windows.baseline.start_ns, windows.baseline.end_ns),
        incident=(windows.incident.start_ns, windows.incident.end_ns),
        impact=impact,
        timeline=_timeline(inv, alerts_ns=[(a.starts_ns, a.name, a.service or "") for a in alerts]),
        graph=tuple(involved_edges(inv.graph, set(inv.affected) | {h.service for h in inv.hypotheses})),
        hypotheses=ranked,
        next_steps=_next_steps(ranked, inv.abstained),
        inputs=inputs,
        notes=(*notes, *inv.notes),
        severity=alerts[0].severity if alerts and alerts[0].severity else "unknown",
        alert_fingerprint=alerts[0].fingerprint if alerts else "",
        seen_before=seen_before(inv.matches, inv.hypotheses),
        symptoms=inv.symptoms or symptoms(inv),
        exemplar_trace=exemplar_trace(queries, ranked[:1]),
        metric_series=metric_series(queries, ranked[:LOCATE_TOP], onset_ns=windows.onset_ns),
        sources=tuple(source_summary(r) for r in sources),
        coverage_gaps=coverage_gaps,
    )


def source_summary(report: SourceReport) -> SourceSummary:
    return SourceSummary(
        name=report.name,
        kind=report.kind,
        target=report.target,
        rows={k: v for k, v in report.rows.items() if v},
        first_ns=report.first_ns,
        last_ns=report.last_ns,
        requests=report.requests,
        seconds=round(report.seconds, 3),
        truncated=tuple(report.truncated),
        errors=tuple(report.errors),
        notes=tuple(report.notes),
        failed=report.failed,
        files=tuple(InputFileLine(f.path, f.format, f.rows, f.problems, f.skipped) for f in report.files),
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


def _timeline(inv: Investigation, *, alerts_ns: list[tuple[int, str, str]]) -> tuple[TimelineEntry, ...]:
    windows, evidence = inv.windows, inv.analysis.evidence
    entries: list[TimelineEntry] = [TimelineEntry(ts, "alert", svc, name) for ts, name, svc in alerts_ns if ts]
    entries.append(TimelineEntry(windows.onset_ns, "onset", "", windows.onset_reason))
    for f in inv.analysis.findings:
        is_change = spec(f.analyzer).role is Role.CHANGE
        if (is_change and f.score < NEGLIGIBLE_CHANGE) or f.onset_ns is None:
            continue
        ev = evidence.get(f.evidence_ids[0]) if f.evidence_ids else None
        text = ev.summary if ev is not None else f.detail
        kind = "change" if is_change else "first anomaly"
        entries.append(TimelineEntry(f.onset_ns, kind, f.service, text, f.evidence_ids[0] if f.evidence_ids else ""))
    entries.sort(key=lambda e: (e.ts_ns, e.kind, e.service))
    return tuple(entries[:MAX_TIMELINE])


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
