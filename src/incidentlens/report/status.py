"""The stakeholder status update: what we know, what we are doing, when the next update comes.

Built from the same inputs as the postmortem and at any point of an incident (open ones too), in plain
language; every sentence of the first two parts carries its references.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from incidentlens.model.approval import FixStatus
from incidentlens.model.enums import HypothesisStatus, IncidentStatus
from incidentlens.report import postmortem_ledger as ledger
from incidentlens.report.audit_text import describe, quoted
from incidentlens.report.facts import Lookups, ReportInputs
from incidentlens.report.postmortem import impact_window
from incidentlens.report.references import Footnote, Ref, Section, SentenceList, footnotes, span, stamp

if TYPE_CHECKING:
    from incidentlens.store.fixes_repository import StoredProposal

__all__ = ["StatusUpdate", "build_status_update"]

LATEST_ACTIONS = 3


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A status update: `sections` are `known` and `doing`; `next_update` is a plan, not a claim."""

    incident_id: str
    title: str
    status: str
    severity: str
    generated_at: datetime
    sections: tuple[Section, ...]
    next_update: str
    footnotes: tuple[Footnote, ...]
    dropped: int
    audit_head: str = ""

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def _known(look: Lookups, *, now: datetime) -> SentenceList:
    out = SentenceList()
    inc = look.inputs.detail.incident
    b = look.brief
    start, end, end_ref, ended = impact_window(look, now=now)
    services = ", ".join(b.affected_services) or "no service we could identify"
    rate = (
        f"; {b.error_rate_during * 100:.1f} % of requests failed (normally {b.error_rate_before * 100:.1f} %)"
        if b.error_rate_during is not None and b.error_rate_before is not None
        else ""
    )
    if ended:
        out.add(
            f"From {stamp(start)} to {stamp(end)} ({span(end - start)}) the incident affected {services}{rate}",
            [look.brief_ref, end_ref],
        )
    else:
        out.add(
            f"Since {stamp(start)} ({span(end - start)} so far) the incident affects {services}{rate}", [look.brief_ref]
        )
    current = look.last_event(inc.status)
    out.add(f"Current status: {inc.status.value}", [look.event_ref(current) if current else None])
    chosen = ledger.confirmed(look)
    for entry in chosen:
        d = entry.decision
        refs = [look.decision_ref(entry.hypothesis.id, d.decision, d.at) if d else None]
        out.add(
            f"The cause is confirmed: {entry.hypothesis.claim}",
            [*refs, *look.evidence_refs(entry.hypothesis.supporting, limit=3)],
        )
    if not chosen:
        lead = ledger.leading(look)[:1]
        if b.abstained or not lead:
            out.add(
                "We do not know the cause yet: the evidence does not point at one clearly",
                [look.brief_ref or look.as_of()],
            )
        else:
            h = lead[0].hypothesis
            out.add(
                f"We do not know the cause for certain yet; the leading hypothesis (confidence {h.confidence:.2f}, "
                f"not confirmed) is: {h.claim}",
                [*look.evidence_refs(h.supporting, limit=3), look.investigation_ref(lead[0].latest_investigation_id)],
            )
    for entry in look.inputs.ledger:
        d = entry.decision
        if entry.status is HypothesisStatus.REFUTED and d is not None:
            why = f" ({quoted(d.comment)})" if d.comment else ""
            out.add(
                f"Ruled out: {entry.hypothesis.claim}{why}", [look.decision_ref(entry.hypothesis.id, d.decision, d.at)]
            )
    assignments = look.inputs.detail.assignments
    owner = look.inputs.metrics.owner
    if owner is not None and assignments:
        last = assignments[-1]
        owned = look.last_event(IncidentStatus.OWNED)
        engaged = owned is not None and owned.at >= last.at
        state = f"engaged since {stamp(owned.at)}" if engaged and owned else "not yet engaged"
        out.add(
            f"Owner: {owner} ({state})",
            [look.assignment_ref(last.owner, last.at), look.event_ref(owned) if engaged and owned else None],
        )
    return out


def _fix_state(look: Lookups, stored: StoredProposal) -> tuple[str, Ref] | None:
    """The newest thing that happened to a fix, in plain words, with its audit entry."""
    p = stored.proposal
    steps = look.proposal_entries(p.id)
    if not steps:
        return None
    last = steps[-1]
    title = f"fix {p.id} ({p.title})"
    expected = p.prediction.statement if p.prediction is not None else "it worked"
    plain = {
        "prediction_confirmed": f"{title} is in place and its effect is confirmed on post-fix telemetry",
        "prediction_refuted": f"{title} is in place but the failing signal is still abnormal; we keep investigating",
        "executed": f"{title} was applied; we are checking that {expected}",
        "execution_failed": f"applying {title} failed; we are looking at why",
        "approval_issued": f"{title} is approved and being applied",
        "approval_redeemed": f"{title} is approved and being applied",
        "approved": f"{title} has approvals; it is applied once the approval policy is met",
        "validation_passed": f"{title} passed validation and awaits approval",
        "validation_failed": f"{title} failed validation",
        "rejected": f"{title} was rejected by a reviewer",
        "proposed": f"{title} is suggested and awaits review",
    }
    return plain.get(last.action, describe(last)), Ref.audit(last.seq)


def _doing(look: Lookups) -> SentenceList:
    out = SentenceList()
    inc = look.inputs.detail.incident
    resolved = look.last_event(IncidentStatus.RESOLVED)
    if not inc.is_open and resolved is not None:
        out.add("The incident is resolved; a postmortem draft follows", [look.event_ref(resolved)])
    else:
        for stored in look.inputs.proposals:
            if stored.status is FixStatus.REJECTED:
                continue
            state = _fix_state(look, stored)
            if state is not None:
                text, ref = state
                out.add(text[:1].upper() + text[1:], [ref])
        if not out.items:
            if ledger.confirmed(look):
                out.add("The cause is confirmed; we are preparing the fix", [look.as_of()])
            else:
                out.add(
                    "We are investigating and testing the hypotheses against the evidence",
                    [look.brief_ref or look.as_of()],
                )
        mitigated = look.first_event(IncidentStatus.MITIGATED)
        if mitigated is not None:
            out.add(
                f"The impact was mitigated at {stamp(mitigated.at)}; the cause is being fixed",
                [look.event_ref(mitigated)],
            )
    recent = sorted(look.audit.items())[-LATEST_ACTIONS:]
    for seq, entry in recent:
        out.add(f"Latest, at {stamp(entry.at)}: {describe(entry)}", [Ref.audit(seq)])
    return out


def build_status_update(inputs: ReportInputs, *, now: datetime, next_update_minutes: int | None = 30) -> StatusUpdate:
    """The update as of `now`; `next_update_minutes=None` (or a resolved incident) promises no further update."""
    look = Lookups(inputs)
    known, doing = _known(look, now=now), _doing(look)
    sections = (
        Section("known", "What we know", known.done()),
        Section("doing", "What we are doing", doing.done()),
    )
    inc = inputs.detail.incident
    if not inc.is_open:
        plan = "No further updates are planned: the incident is resolved. The postmortem will follow."
    elif next_update_minutes is None:
        plan = "The next update will be announced."
    else:
        due = now + timedelta(minutes=next_update_minutes)
        plan = f"Next update in {next_update_minutes} minutes, by {stamp(due)}, or sooner if anything changes."
    return StatusUpdate(
        incident_id=inc.id,
        title=inc.title,
        status=inc.status.value,
        severity=inc.severity.value,
        generated_at=now,
        sections=sections,
        next_update=plan,
        footnotes=footnotes(sections, evidence=look.evidence, audit=look.audit),
        dropped=known.dropped + doing.dropped,
        audit_head=inputs.audit_head,
    )
