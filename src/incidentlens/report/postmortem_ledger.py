"""Postmortem sections drawn from the hypothesis ledger and the fix workflow: root cause, contributing
factors, what was tried and refuted, resolution, action items. Each sentence cites evidence or audit seqs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentlens.model.approval import FixStatus
from incidentlens.model.enums import EvidenceKind, HypothesisStatus, IncidentStatus
from incidentlens.report.audit_text import describe, quoted
from incidentlens.report.facts import Lookups
from incidentlens.report.references import Ref, SentenceList, stamp

if TYPE_CHECKING:
    from incidentlens.store.fixes_repository import StoredProposal
    from incidentlens.workflow.ledger import LedgerEntry

__all__ = ["action_items", "confirmed", "contributing", "leading", "refuted", "resolution", "root_cause"]

MAX_EVIDENCE = 8
LEADING = 3
OPEN_FIX = frozenset({FixStatus.PROPOSED, FixStatus.VALIDATED, FixStatus.VALIDATION_FAILED})


def confirmed(look: Lookups) -> list[LedgerEntry]:
    return [e for e in look.inputs.ledger if e.status is HypothesisStatus.CONFIRMED]


def leading(look: Lookups) -> list[LedgerEntry]:
    """The latest investigation's hypotheses nobody has decided on yet, best ranked first."""
    undecided = (HypothesisStatus.PROPOSED, HypothesisStatus.SUPPORTED)
    return [e for e in look.inputs.ledger if e.in_latest_investigation and e.status in undecided][:LEADING]


def _decision_ref(look: Lookups, entry: LedgerEntry) -> Ref | None:
    d = entry.decision
    return look.decision_ref(entry.hypothesis.id, d.decision, d.at) if d is not None else None


def _ranked_by(look: Lookups, entry: LedgerEntry) -> Ref | None:
    return look.investigation_ref(entry.latest_investigation_id)


def _what(entry: LedgerEntry) -> str:
    h = entry.hypothesis
    component = f", component {h.component}" if h.component else ""
    return f"{h.claim} (service {h.service}{component}, fault {h.fault.value})"


def root_cause(look: Lookups) -> SentenceList:
    out = SentenceList()
    chosen = confirmed(look)
    for entry in chosen:
        h, d = entry.hypothesis, entry.decision
        said = f" — {quoted(d.comment)}" if d is not None and d.comment else ""
        who = f" by {d.actor} at {stamp(d.at)}" if d is not None else ""
        out.add(f"HYPOTHESIS {h.id} confirmed{who}: {_what(entry)}{said}", [_decision_ref(look, entry)])
        for eid in h.supporting[:MAX_EVIDENCE]:
            if (item := look.evidence.get(eid)) is not None:
                out.add(f"Evidence for {h.id}: {item.summary}", [Ref.evidence(eid)])
        for eid in h.contradicting[:MAX_EVIDENCE]:
            if (item := look.evidence.get(eid)) is not None:
                out.add(f"Evidence against {h.id}: {item.summary}", [Ref.evidence(eid)])
        for loc in h.locations[:3]:
            where = f" in {loc.function}" if loc.function else ""
            why = f" ({loc.why})" if loc.why else ""
            out.add(f"Suspect code for {h.id}: {loc.path}:{loc.line}{where}{why}", [_ranked_by(look, entry)])
        for commit in h.suspect_commits[:3]:
            out.add(
                f"Suspect commit for {h.id}: {commit.sha[:12]} {commit.subject} ({commit.author})",
                [_ranked_by(look, entry)],
            )
        if h.owners:
            names = ", ".join(f"{o.name} ({o.source.value})" for o in h.owners)
            out.add(f"Owners of the code involved in {h.id}: {names}", [_ranked_by(look, entry)])
    if chosen:
        return out
    out.add("The root cause is not confirmed: no hypothesis has been confirmed by a person", [look.as_of()])
    if look.brief.abstained:
        out.add("The investigation abstained: not enough evidence to name a cause with confidence", [look.brief_ref])
    for entry in leading(look):
        h = entry.hypothesis
        refs = [*look.evidence_refs(h.supporting, limit=3), _ranked_by(look, entry)]
        out.add(f"Unconfirmed HYPOTHESIS {h.id} (confidence {h.confidence:.2f}): {_what(entry)}", refs)
    return out


def contributing(look: Lookups) -> SentenceList:
    out = SentenceList()
    for entry in look.inputs.ledger:
        if entry.status is HypothesisStatus.SUPPORTED:
            h = entry.hypothesis
            refs = [*look.evidence_refs(h.supporting, limit=3), _ranked_by(look, entry)]
            out.add(f"Supported but unconfirmed HYPOTHESIS {h.id}: {_what(entry)}", refs)
    chosen = confirmed(look)
    linked_to = chosen or leading(look)[:1]
    label = "the confirmed root cause" if chosen else "the leading hypothesis (unconfirmed)"
    for entry in linked_to:
        for eid in entry.hypothesis.supporting:
            item = look.evidence.get(eid)
            if item is not None and item.kind is EvidenceKind.CHANGE:
                out.add(f"Change linked to {label} {entry.hypothesis.id}: {item.summary}", [Ref.evidence(eid)])
    if not out.items:
        out.add(
            "No contributing factor is recorded: no hypothesis is marked supported "
            "and no change is linked to the cause",
            [look.as_of()],
        )
    return out


def refuted(look: Lookups) -> SentenceList:
    out = SentenceList()
    for entry in look.inputs.ledger:
        d = entry.decision
        if entry.status is HypothesisStatus.REFUTED and d is not None:
            reason = f" — reason: {quoted(d.comment)}" if d.comment else ""
            out.add(
                f"HYPOTHESIS {entry.hypothesis.id} refuted by {d.actor} at {stamp(d.at)}: {_what(entry)}{reason}",
                [_decision_ref(look, entry)],
            )
    for stored in look.inputs.proposals:
        p = stored.proposal
        for step in look.proposal_entries(p.id, "rejected", "execution_failed", "prediction_refuted"):
            out.add(f"SUGGESTION {p.id} ({p.kind.value}: {p.title}): {describe(step)}", [Ref.audit(step.seq)])
    if not out.items:
        out.add(
            "Nothing was refuted or rejected: no hypothesis was refuted and no fix suggestion was rejected",
            [look.as_of()],
        )
    return out


def _executed(look: Lookups) -> list[StoredProposal]:
    return [s for s in look.inputs.proposals if look.proposal_entries(s.proposal.id, "executed")]


def resolution(look: Lookups) -> SentenceList:
    out = SentenceList()
    executed = _executed(look)
    for stored in executed:
        p = stored.proposal
        proposed = look.proposal_entries(p.id, "proposed")
        refs = [*(Ref.audit(e.seq) for e in proposed[:1]), *look.evidence_refs(p.evidence_ids, limit=3)]
        out.add(f"Fix SUGGESTION {p.id} ({p.kind.value}, risk {p.risk.value}) for {p.hypothesis_id}: {p.title}", refs)
        steps = (
            "validation_passed",
            "validation_failed",
            "approved",
            "approval_issued",
            "executed",
            "execution_failed",
        )
        for step in look.proposal_entries(p.id, *steps, "prediction_confirmed", "prediction_refuted"):
            text = describe(step)
            out.add(text[:1].upper() + text[1:], [Ref.audit(step.seq)])
        if not look.proposal_entries(p.id, "prediction_confirmed", "prediction_refuted"):
            last = look.proposal_entries(p.id, "executed")[-1]
            expected = f": {p.prediction.statement}" if p.prediction is not None else ""
            out.add(
                f"The prediction of fix {p.id} has not been checked on post-fix telemetry{expected}",
                [Ref.audit(last.seq)],
            )
    if not executed:
        out.add("No fix was executed through IncidentLens", [look.as_of()])
    for event in look.inputs.detail.status_events:
        if event.status in (IncidentStatus.MITIGATED, IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
            note = f": {quoted(event.note)}" if event.note else ""
            out.add(
                f"{event.actor} marked the incident {event.status.value} at {stamp(event.at)}{note}",
                [look.event_ref(event)],
            )
    incident = look.inputs.detail.incident
    if incident.is_open:
        out.add(f"The incident is not resolved (status {incident.status.value})", [look.as_of()])
    return out


def action_items(look: Lookups) -> SentenceList:
    """Follow-ups the ledger implies; all of them SUGGESTIONS for people to decide on."""
    out = SentenceList()
    chosen = confirmed(look)
    verified = set()
    for stored in look.inputs.proposals:
        p = stored.proposal
        executed = look.proposal_entries(p.id, "executed")
        checked = look.proposal_entries(p.id, "prediction_confirmed", "prediction_refuted")
        if checked and checked[-1].action == "prediction_confirmed":
            verified.add(p.hypothesis_id)
        if executed and not checked:
            what = f": {p.prediction.statement}" if p.prediction is not None else ""
            out.add(
                f"Check the prediction of fix {p.id} with "
                f"`incidentlens verify-fix {p.id} --telemetry POST_FIX_TELEMETRY`{what}",
                [Ref.audit(executed[-1].seq)],
            )
        if checked and checked[-1].action == "prediction_refuted":
            out.add(
                f"Fix {p.id} did not bring its signal back to normal: the cause may remain; investigate before closing",
                [Ref.audit(checked[-1].seq)],
            )
        decided_for = {e.hypothesis.id for e in chosen} or {e.hypothesis.id for e in leading(look)}
        if stored.status in OPEN_FIX and p.hypothesis_id in decided_for:
            proposed = look.proposal_entries(p.id, "proposed")
            out.add(
                f"Decide on SUGGESTION {p.id} ({p.kind.value}: {p.title}); it is {stored.status.value}",
                [*(Ref.audit(e.seq) for e in proposed[:1]), *look.evidence_refs(p.evidence_ids, limit=2)],
            )
    for entry in chosen:
        h = entry.hypothesis
        if h.id not in verified:
            for pred in h.predictions[:2]:
                out.add(
                    f"Verify {h.id}: {pred.statement} — confirmed if {pred.confirms_if}; refuted if {pred.refutes_if}",
                    [_decision_ref(look, entry), *look.evidence_refs(h.supporting, limit=2)],
                )
        for loc in h.locations[:2]:
            where = f" in {loc.function}" if loc.function else ""
            out.add(f"Add a regression test covering {loc.path}:{loc.line}{where}", [_ranked_by(look, entry)])
    if not chosen:
        for entry in leading(look)[:2]:
            h = entry.hypothesis
            for pred in h.predictions[:1]:
                out.add(
                    f"Confirm or refute {h.id}: {pred.statement} — confirmed if {pred.confirms_if}; "
                    f"refuted if {pred.refutes_if}",
                    [*look.evidence_refs(h.supporting, limit=2), _ranked_by(look, entry)],
                )
    moves = look.inputs.metrics.reassignments
    if moves:
        refs = [look.assignment_ref(a.owner, a.at) for a in look.inputs.detail.assignments]
        out.add(f"Review routing: the incident changed owner {moves} time(s) before the final owner", refs)
    if not out.items:
        out.add("No follow-up follows from the ledger", [look.as_of()])
    return out
