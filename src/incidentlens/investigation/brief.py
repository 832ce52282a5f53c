"""The brief of an investigation: title, summary, impact, timeline, next steps, pictures and sources.

Built after the analysis and its optional steps, from what they found; the renderers in `report/` only
format it.
"""

from __future__ import annotations

import time

from incidentlens.analyze.topology import involved_edges
from incidentlens.investigation.analysis import LOCATE_TOP, Investigation
from incidentlens.investigation.brief_head import build_head, degradations, label_victims, metric_degradations
from incidentlens.investigation.brief_timeline import build_timeline
from incidentlens.investigation.pictures import exemplar_trace, metric_series
from incidentlens.investigation.steps import symptoms
from incidentlens.memory.retrieve import seen_before
from incidentlens.propose.suggest import suggest_fixes
from incidentlens.report.brief import Brief, Impact, InputFileLine, RankedHypothesis, SourceSummary, iso
from incidentlens.sources.protocol import SourceReport


def build_brief(
    inv: Investigation,
    *,
    inputs: dict[str, int],
    title: str | None = None,
    notes: tuple[str, ...] = (),
    sources: tuple[SourceReport, ...] = (),
    coverage_gaps: tuple[str, ...] = (),
    warnings: tuple[str, ...] = (),
    now_ns: int | None = None,
) -> Brief:
    evidence = inv.analysis.evidence
    ranked = label_victims(
        tuple(
            RankedHypothesis(
                rank=i + 1,
                hypothesis=h,
                evidence_for=tuple(evidence[e] for e in h.supporting if e in evidence),
                evidence_against=tuple(evidence[e] for e in h.contradicting if e in evidence),
                fixes=tuple(suggest_fixes(h, evidence)),
                memory_notes=inv.memory_notes.get(h.id, ()),
            )
            for i, h in enumerate(inv.hypotheses)
        ),
        inv.graph,
    )
    windows, queries = inv.windows, inv.queries
    stats = queries.entry_stats(windows.baseline, windows.incident)
    alerts = queries.alerts()
    spans_seen = inputs.get("spans", 1) > 0
    impact = Impact(
        affected_services=inv.affected,
        error_rate_before=stats.error_rate_before,
        error_rate_during=stats.error_rate_during,
        latency_p95_before_ms=stats.p95_before_ms,
        latency_p95_during_ms=stats.p95_during_ms,
        alerts=tuple(f"{a.name} ({a.service or 'no service'}, {a.severity}) at {iso(a.starts_ns)}" for a in alerts[:5]),
        degradations=degradations(stats, spans_seen=spans_seen) or metric_degradations(ranked),
        spans_seen=spans_seen,
    )
    timeline = build_timeline(
        findings=inv.analysis.findings,
        evidence=evidence,
        alerts=[(a.starts_ns, a.name, a.service or "") for a in alerts],
        onset_ns=windows.onset_ns,
        onset_reason=windows.onset_reason,
    )
    next_steps = _next_steps(ranked, inv.abstained, impact)
    now = now_ns if now_ns is not None else time.time_ns()
    return Brief(
        title=title or _title(alerts[0].name if alerts else "", ranked, inv.abstained),
        generated_at=iso(now),
        summary=_summary(ranked, inv.abstained, impact),
        abstained=inv.abstained,
        onset_ns=windows.onset_ns,
        onset_reason=windows.onset_reason,
        alert_ns=windows.alert_ns,
        baseline=(windows.baseline.start_ns, windows.baseline.end_ns),
        incident=(windows.incident.start_ns, windows.incident.end_ns),
        impact=impact,
        timeline=timeline.entries,
        timeline_more=timeline.left_out,
        graph=tuple(involved_edges(inv.graph, set(inv.affected) | {h.service for h in inv.hypotheses})),
        hypotheses=ranked,
        next_steps=next_steps,
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
        head=build_head(
            ranked=ranked,
            abstained=inv.abstained,
            impact=impact,
            alert=next((a for a in alerts if a.starts_ns), None),
            onset_ns=windows.onset_ns,
            alert_ns=windows.alert_ns,
            now_ns=now,
            next_step=next_steps[0],
        ),
        warnings=warnings,
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
    """The head in prose; it never says "none affected" beside a measured degradation."""
    hurt = "; ".join(impact.degradations)
    if impact.affected_services:
        where = f"Services showing the anomaly: {', '.join(impact.affected_services)}."
    elif hurt:
        where = "No single service stands out."
    else:
        where = ""
    measured = f" Measured: {hurt}." if hurt else ""
    if not ranked:
        lead = (
            "Not enough evidence for a hypothesis: requests degraded but no service's own signals depart from "
            "its normal period."
            if hurt
            else "Not enough evidence: no service shows an anomaly against the normal period."
        )
        return f"{lead}{measured}".strip()
    top = ranked[0].hypothesis
    lead = (
        f"Not enough evidence for a confident root cause; the strongest candidate is {top.service} "
        f"(confidence {top.confidence:.2f})."
        if abstained
        else f"HYPOTHESIS (confidence {top.confidence:.2f}): {ranked[0].statement or top.claim}."
    )
    suspects = [rh for rh in ranked[1:] if not rh.victim_of][:2]
    others = ", ".join(f"{rh.hypothesis.service} ({rh.hypothesis.confidence:.2f})" for rh in suspects)
    tail = f" Other candidates: {others}." if others else ""
    victims = [rh.hypothesis.service for rh in ranked[1:] if rh.victim_of]
    tail += f" Victims (their anomaly follows from a callee): {', '.join(victims)}." if victims else ""
    return f"{lead}{tail}{measured} {where} Based on {len(ranked[0].evidence_for)} evidence records.".replace("  ", " ")


def _next_steps(ranked: tuple[RankedHypothesis, ...], abstained: bool, impact: Impact) -> tuple[str, ...]:
    widen = "Widen the time range or add traces/metrics for the affected services, then investigate again."
    if not ranked and not impact.degradations and impact.alerts:
        return ("Nothing departs from normal: check whether the alert's threshold is too tight.", widen)
    if not ranked:
        return (widen,)
    steps: list[str] = []
    top = ranked[0].hypothesis
    if abstained:
        steps.append("Evidence is weak: gather more telemetry (traces, metrics) around the onset before acting.")
    if ranked[0].fixes and not abstained:
        steps.append(f"Review the SUGGESTION '{ranked[0].fixes[0].title}'; approve it only if the evidence holds.")
    steps.append(
        f"Check hypothesis 1 on {top.service}: it holds if {top.predictions[0].confirms_if}."
        if top.predictions
        else f"Check hypothesis 1 on {top.service}."
    )
    if top.owners:
        steps.append(f"Engage the owner of {top.service}: {top.owners[0].name}.")
    steps.append("Confirm or refute each hypothesis so the ledger records the decision.")
    return tuple(steps)
