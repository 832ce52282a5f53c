"""The postmortem draft's model, built from the ledger, the audit trail, fixes, MTTx and the stored brief.

Every sentence carries a reference ([ev:ID] or [audit:SEQ]); a fact nothing records is left out and
counted in `dropped`. Sections with nothing to report say so, citing the audit entry they hold up to.
The root cause section names only confirmed hypotheses; without one it says the cause is not confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from incidentlens.errors import ConfigError
from incidentlens.model.enums import IncidentStatus
from incidentlens.report import postmortem_ledger as ledger
from incidentlens.report.audit_text import describe
from incidentlens.report.facts import Lookups, ReportInputs, parse_time
from incidentlens.report.references import Footnote, Ref, Section, SentenceList, footnotes, span, stamp

__all__ = ["Postmortem", "SloTarget", "build_postmortem", "impact_window"]

MILESTONES = {
    "mtta": IncidentStatus.ACKNOWLEDGED,
    "mttu": IncidentStatus.UNDERSTOOD,
    "mtto": IncidentStatus.OWNED,
    "mttm": IncidentStatus.MITIGATED,
    "mttr": IncidentStatus.RESOLVED,
}
_OPEN_EVENTS = {
    "detected": "the alert or first anomalous signal started (detected)",
    "opened": "IncidentLens opened the incident",
    "investigating": "the investigation was recorded (investigating)",
}


@dataclass(frozen=True, slots=True)
class SloTarget:
    """The availability objective the error budget is measured against (settings key `slo`)."""

    target_percent: float = 99.9
    window_days: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.target_percent < 100:
            raise ConfigError(f"SLO target must be a percentage between 0 and 100, not {self.target_percent}")
        if self.window_days <= 0:
            raise ConfigError(f"SLO window must be a positive number of days, not {self.window_days}")

    @property
    def budget_minutes(self) -> float:
        """Minutes of full outage the SLO allows over its window."""
        return (100 - self.target_percent) / 100 * self.window_days * 1440


@dataclass(frozen=True, slots=True)
class Postmortem:
    """A postmortem draft: sections of referenced sentences and the footnotes their references point at."""

    incident_id: str
    title: str
    status: str
    severity: str
    service: str
    generated_at: datetime
    slo: SloTarget
    root_cause_confirmed: bool
    sections: tuple[Section, ...]
    footnotes: tuple[Footnote, ...]
    dropped: int  # facts left out because no evidence or audit entry records them
    audit_head: str = ""  # the verified chain's head hash when the draft was made

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def refs(self) -> set[Ref]:
        return {r for s in self.sections for sentence in s.sentences for r in sentence.refs}


def impact_window(look: Lookups, *, now: datetime) -> tuple[datetime, datetime, Ref | None, bool]:
    """(start, end, what records the end, ended): onset to first mitigation, else resolution, else now."""
    detail = look.inputs.detail
    start = look.brief.onset or detail.incident.detected_at
    # Only steps the audit chain records can end the impact: the end must be as traceable as the start.
    mitigated = look.first_event(IncidentStatus.MITIGATED, recorded=True)
    resolved = look.last_event(IncidentStatus.RESOLVED, recorded=True)
    end_event = mitigated or (resolved if not detail.incident.is_open else None)
    if end_event is not None:
        return start, end_event.at, look.event_ref(end_event), True
    return start, now, look.as_of(), False


def _summary(look: Lookups, *, now: datetime) -> SentenceList:
    out = SentenceList()
    inc = look.inputs.detail.incident
    detected = look.first_event(IncidentStatus.DETECTED)
    service = f", service {inc.service}" if inc.service else ""
    out.add(
        f"{inc.id} “{inc.title}” ({inc.severity.value} severity{service}) was detected at {stamp(inc.detected_at)}",
        [look.event_ref(detected) if detected else None],
    )
    current = look.last_event(inc.status)
    out.add(f"Its status is {inc.status.value} as of {stamp(now)}", [look.event_ref(current) if current else None])
    chosen = ledger.confirmed(look)
    for entry in chosen:
        d = entry.decision
        who = f" by {d.actor}" if d is not None else ""
        refs = [
            look.decision_ref(entry.hypothesis.id, d.decision, d.at) if d is not None else None,
            *look.evidence_refs(entry.hypothesis.supporting, limit=3),
        ]
        out.add(f"Root cause, confirmed{who}: {entry.hypothesis.claim}", refs)
    if not chosen:
        lead = ledger.leading(look)[:1]
        if lead:
            h = lead[0].hypothesis
            refs = [*look.evidence_refs(h.supporting, limit=3), look.investigation_ref(lead[0].latest_investigation_id)]
            out.add(
                f"No root cause is confirmed; the leading HYPOTHESIS (unconfirmed, confidence {h.confidence:.2f}) "
                f"is: {h.claim}",
                refs,
            )
        else:
            out.add("No root cause is confirmed and no hypothesis is left undecided", [look.as_of()])
    for stored in look.inputs.proposals:
        executed = look.proposal_entries(stored.proposal.id, "executed")
        issued = look.proposal_entries(stored.proposal.id, "approval_issued")
        if executed:
            approvers = ", ".join(map(str, issued[-1].payload.get("approvers", ()))) if issued else "-"
            out.add(
                f"Fix {stored.proposal.id} ({stored.proposal.kind.value}: {stored.proposal.title}) was executed "
                f"after approval by {approvers}",
                [Ref.audit(executed[-1].seq), *(Ref.audit(e.seq) for e in issued[-1:])],
            )
    start, end, end_ref, ended = impact_window(look, now=now)
    if ended:
        out.add(f"Impact lasted {span(end - start)}, from {stamp(start)} to {stamp(end)}", [look.brief_ref, end_ref])
    return out


def _impact(look: Lookups, *, now: datetime, slo: SloTarget) -> SentenceList:
    out = SentenceList()
    b, br = look.brief, look.brief_ref
    start, end, end_ref, ended = impact_window(look, now=now)
    reason = f" ({b.onset_reason})" if b.onset_reason else ""
    if ended:
        out.add(
            f"Duration: {span(end - start)}, from the onset at {stamp(start)}{reason} to {stamp(end)}", [br, end_ref]
        )
    else:
        out.add(
            f"Duration: not marked mitigated or resolved; {span(end - start)} since the onset at "
            f"{stamp(start)}{reason}, as of {stamp(end)}",
            [br, end_ref],
        )
    services = ", ".join(b.affected_services) or "none detected"
    out.add(f"Affected services: {services}", [br])
    for alert in b.alerts:
        out.add(f"Alert: {alert}", [br])
    if b.latency_p95_before_ms is not None and b.latency_p95_during_ms is not None:
        out.add(
            f"Entry latency p95: {b.latency_p95_before_ms:.1f} ms in the normal period, "
            f"{b.latency_p95_during_ms:.1f} ms during the incident window",
            [br],
        )
    before, during = b.error_rate_before, b.error_rate_during
    if before is None or during is None:
        out.add("Error budget: not estimated, the investigation recorded no error rates", [br or look.as_of()])
        return out
    out.add(
        f"Failing requests (span error rate): {before * 100:.2f} % in the normal period, "
        f"{during * 100:.2f} % during the incident window",
        [br],
    )
    minutes = max((end - start).total_seconds(), 0.0) / 60
    excess = max(during - before, 0.0)
    used = excess * minutes
    share = used / slo.budget_minutes * 100
    so_far = "" if ended else " so far"
    out.add(
        f"Error budget (estimate): {excess * 100:.2f} % of requests failing above the normal rate for "
        f"{minutes:.1f} min{so_far} is about {used:.2f} min of full outage, {share:.1f} % of the "
        f"{slo.budget_minutes:.1f}-minute budget of a {slo.target_percent:g} % availability SLO over "
        f"{slo.window_days:g} days (from span error rates, assuming steady traffic)",
        [br, end_ref],
    )
    return out


def _timeline(look: Lookups) -> SentenceList:
    items: list[tuple[datetime, int, str, list[Ref | None]]] = []
    for event in look.brief.timeline:
        where = f" {event.service}" if event.service else ""
        ref = Ref.evidence(event.evidence_id) if event.evidence_id in look.evidence else look.brief_ref
        items.append((event.at, 0, f"{event.kind}{where}: {event.text}", [ref]))
    for seq, entry in sorted(look.audit.items()):
        if entry.entity == "incident" and entry.action == "open":
            for ev in entry.payload.get("events", ()):
                at = parse_time(ev.get("at")) if isinstance(ev, Mapping) else None
                if at is not None:
                    items.append(
                        (at, seq, _OPEN_EVENTS.get(str(ev.get("status")), str(ev.get("status"))), [Ref.audit(seq)])
                    )
            continue
        items.append((entry.at, seq, describe(entry), [Ref.audit(seq)]))
    out = SentenceList()
    for at, _, text, refs in sorted(items, key=lambda item: (item[0], item[1])):
        out.add(f"{stamp(at)} — {text}", refs, at=at)
    return out


def _metrics(look: Lookups) -> SentenceList:
    out = SentenceList()
    metrics, defs = look.inputs.metrics, look.inputs.metric_definitions
    detected_at = look.inputs.detail.incident.detected_at
    detected = look.first_event(IncidentStatus.DETECTED)
    detected_ref = look.event_ref(detected) if detected else None
    for metric, value in metrics.durations.items():
        key = str(metric)  # a StrEnum: its value
        definition = defs.get(key, "")
        status = MILESTONES.get(key)
        if value is None:
            out.add(f"{key.upper()}: not reached ({definition})", [look.as_of()])
            continue
        at = detected_at + value
        milestone = look.status_ref(status, at) if status is not None else None
        out.add(
            f"{key.upper()}: {span(value)} ({definition}); detected {stamp(detected_at)}, reached {stamp(at)}",
            [detected_ref, milestone],
        )
    refs = [look.assignment_ref(a.owner, a.at) for a in look.inputs.detail.assignments] or [look.as_of()]
    out.add(f"Reassignments: {metrics.reassignments} (changes of owner after the first assignment)", refs)
    return out


def build_postmortem(inputs: ReportInputs, *, now: datetime, slo: SloTarget | None = None) -> Postmortem:
    """Build the draft; `now` is when it is generated (the end of an impact still ongoing)."""
    slo = slo if slo is not None else SloTarget()
    look = Lookups(inputs)
    parts: list[tuple[str, str, SentenceList]] = [
        ("summary", "Summary", _summary(look, now=now)),
        ("impact", "Impact", _impact(look, now=now, slo=slo)),
        ("timeline", "Timeline (UTC)", _timeline(look)),
        ("root_cause", "Root cause", ledger.root_cause(look)),
        ("contributing", "Contributing factors", ledger.contributing(look)),
        ("refuted", "What was tried and refuted", ledger.refuted(look)),
        ("resolution", "Resolution and the approved fix", ledger.resolution(look)),
        ("metrics", "Response metrics (MTTx)", _metrics(look)),
        ("action_items", "Action items (SUGGESTIONS: people decide)", ledger.action_items(look)),
    ]
    sections = tuple(Section(key, title, items.done()) for key, title, items in parts)
    inc = inputs.detail.incident
    return Postmortem(
        incident_id=inc.id,
        title=inc.title,
        status=inc.status.value,
        severity=inc.severity.value,
        service=inc.service or "",
        generated_at=now,
        slo=slo,
        root_cause_confirmed=bool(ledger.confirmed(look)),
        sections=sections,
        footnotes=footnotes(sections, evidence=look.evidence, audit=look.audit),
        dropped=sum(items.dropped for _, _, items in parts),
        audit_head=inputs.audit_head,
    )
