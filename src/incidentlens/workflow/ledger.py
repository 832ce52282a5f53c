"""The hypothesis ledger: every hypothesis ever ranked for an incident, with the human decisions on it.

Decisions are stored by incident + hypothesis id, apart from the per-investigation rows, so a confirmed
or refuted hypothesis keeps its decision when a later investigation ranks it again. Refuted hypotheses
stay in the ledger with the reason. The first confirmation marks the incident `understood`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from incidentlens.errors import InputError, TransitionError
from incidentlens.model.enums import HypothesisStatus
from incidentlens.model.records import Hypothesis
from incidentlens.store import lifecycle_repository as repo
from incidentlens.store.database import Database
from incidentlens.store.errors import NotFoundError
from incidentlens.store.repository import get_incident, set_incident_title
from incidentlens.store.rows import HypothesisDecision, IncidentDetail, StoredHypothesis
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.incidents import apply_action_in
from incidentlens.workflow.lifecycle import Action

__all__ = ["DecisionResult", "LedgerEntry", "decide_hypothesis", "ledger_entries", "record_decision"]

HYPOTHESIS_ENTITY = "hypothesis"
DECISIONS = (HypothesisStatus.CONFIRMED, HypothesisStatus.REFUTED)


@dataclass(frozen=True, slots=True)
class DecisionResult:
    decision: HypothesisDecision
    previous: HypothesisDecision | None
    marked_understood: bool


def record_decision(
    session: Session,
    *,
    incident_id: str,
    hypothesis_id: str,
    decision: HypothesisStatus,
    comment: str,
    actor: str,
    at: datetime,
) -> DecisionResult:
    """Confirm or refute a hypothesis in the caller's transaction (with its audit entry).

    A refutation needs a comment (the reason stays visible); repeating the decision in force is refused.
    """
    if decision not in DECISIONS:
        raise InputError(f"a hypothesis is confirmed or refuted, not {decision.value}")
    comment = comment.strip()
    if decision is HypothesisStatus.REFUTED and not comment:
        raise InputError(f"refuting {hypothesis_id} needs a comment saying why (--comment)")
    known = repo.incident_facts(session, incident_id, lock=True)
    ids = repo.hypothesis_ids(session, incident_id)
    if hypothesis_id not in ids:
        listed = ", ".join(sorted(ids)[:8]) or "none recorded"
        raise NotFoundError(f"{incident_id} has no hypothesis {hypothesis_id!r} (known: {listed})")
    history = repo.decisions(session, incident_id, hypothesis_id=hypothesis_id)
    previous = history[-1] if history else None
    if previous is not None and previous.decision is decision:
        raise TransitionError(
            f"{hypothesis_id} on {incident_id} is already {decision.value} by {previous.actor} "
            f"at {previous.at.isoformat()}"
        )
    item = HypothesisDecision(hypothesis_id=hypothesis_id, decision=decision, comment=comment, actor=actor, at=at)
    repo.add_decision(session, incident_id=incident_id, item=item)
    append_audit(
        session,
        actor=actor,
        entity=HYPOTHESIS_ENTITY,
        entity_id=f"{incident_id}/{hypothesis_id}",
        action="confirm" if decision is HypothesisStatus.CONFIRMED else "refute",
        at=at,
        incident_id=incident_id,
        data={"comment": comment, "previous": previous.decision if previous else None},
    )
    understood = False
    if decision is HypothesisStatus.CONFIRMED:
        note = f"hypothesis {hypothesis_id} confirmed"
        row = apply_action_in(
            session, incident_id=known.incident.id, action=Action.UNDERSTAND, actor=actor, at=at, note=note
        )
        understood = row is not None
    return DecisionResult(decision=item, previous=previous, marked_understood=understood)


def decide_hypothesis(
    db: Database,
    *,
    incident_id: str,
    hypothesis_id: str,
    decision: HypothesisStatus,
    comment: str,
    actor: str,
    at: datetime | None = None,
) -> DecisionResult:
    """`record_decision` in its own transaction; then the incident's title follows the ledger."""
    with db.session() as session:
        result = record_decision(
            session,
            incident_id=incident_id,
            hypothesis_id=hypothesis_id,
            decision=decision,
            comment=comment,
            actor=actor,
            at=at if at is not None else datetime.now(UTC),
        )
    refresh_title(db, incident_id)
    return result


TITLE_SEPARATOR = " — "


def ledger_title(title: str, entries: Sequence[LedgerEntry]) -> str:
    """The incident's title with its current standing: a confirmed cause, else the leading hypothesis of the
    latest investigation that nobody refuted, else that none stands (never frozen to the first brief's)."""
    base = title.split(TITLE_SEPARATOR, 1)[0]
    confirmed = next((e for e in entries if e.status is HypothesisStatus.CONFIRMED), None)
    if confirmed is not None:
        return f"{base}{TITLE_SEPARATOR}confirmed cause: {confirmed.hypothesis.service}"
    standing = next(
        (e for e in entries if e.in_latest_investigation and e.status is not HypothesisStatus.REFUTED), None
    )
    if standing is not None:
        return f"{base}{TITLE_SEPARATOR}leading hypothesis: {standing.hypothesis.service}"
    if entries:
        return f"{base}{TITLE_SEPARATOR}no standing hypothesis"
    return base


def refresh_title(db: Database, incident_id: str) -> str:
    """Store the title `ledger_title` gives for the incident's ledger now; returns it."""
    detail = get_incident(db, incident_id)
    title = ledger_title(detail.incident.title, ledger_entries(detail))
    if title != detail.incident.title:
        set_incident_title(db, incident_id=incident_id, title=title)
    return title


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One hypothesis id across investigations: its latest ranking, status in force and decision history."""

    hypothesis: Hypothesis
    status: HypothesisStatus
    latest_investigation_id: int
    latest_rank: int
    first_investigation_id: int
    times_ranked: int
    in_latest_investigation: bool
    decisions: tuple[HypothesisDecision, ...]

    @property
    def decision(self) -> HypothesisDecision | None:
        return self.decisions[-1] if self.decisions else None


def ledger_entries(detail: IncidentDetail) -> list[LedgerEntry]:
    """The ledger view of an incident: latest investigation's ranking first, then older hypotheses."""
    latest_investigation = detail.investigations[0].id if detail.investigations else None
    by_id: dict[str, list[StoredHypothesis]] = {}
    for stored in detail.hypotheses:
        by_id.setdefault(stored.hypothesis.id, []).append(stored)
    entries = [_entry(rows, detail.decisions, latest_investigation) for rows in by_id.values()]
    entries.sort(key=lambda e: (-e.latest_investigation_id, e.latest_rank, e.hypothesis.id))
    return entries


def _entry(
    rows: Sequence[StoredHypothesis], decisions: Sequence[HypothesisDecision], latest_investigation: int | None
) -> LedgerEntry:
    latest = max(rows, key=lambda r: r.investigation_id)
    first = min(r.investigation_id for r in rows)
    own = tuple(d for d in decisions if d.hypothesis_id == latest.hypothesis.id)
    status = own[-1].decision if own else latest.hypothesis.status
    return LedgerEntry(
        hypothesis=latest.hypothesis,
        status=status,
        latest_investigation_id=latest.investigation_id,
        latest_rank=latest.rank,
        first_investigation_id=first,
        times_ranked=len(rows),
        in_latest_investigation=latest.investigation_id == latest_investigation,
        decisions=own,
    )
