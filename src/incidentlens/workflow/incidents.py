"""Lifecycle steps on stored incidents: rule check, status event and audit entry in one transaction.

Role checks happen at the edge (CLI, web) with `identity.require_role`; these functions take the actor's
name so the system and tests can act too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from incidentlens.errors import InputError
from incidentlens.memory.indexing import index_incident
from incidentlens.store import lifecycle_repository as repo
from incidentlens.store.database import Database
from incidentlens.store.rows import Assignment, IncidentFacts, IncidentRow, StatusEvent
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.lifecycle import Action, check_assignment, current_owner, plan_step, reassignments

__all__ = [
    "AssignResult",
    "acknowledge",
    "apply_action",
    "apply_action_in",
    "assign",
    "close",
    "incident_facts",
    "mitigate",
    "reopen",
    "resolve",
    "take_ownership",
]

INCIDENT_ENTITY = "incident"


def _now(at: datetime | None) -> datetime:
    return at if at is not None else datetime.now(UTC)


def apply_action_in(
    session: Session, *, incident_id: str, action: Action, actor: str, at: datetime, note: str = ""
) -> IncidentRow | None:
    """Apply a lifecycle action in the caller's transaction; None when it changes nothing."""
    facts = repo.incident_facts(session, incident_id, lock=True)
    step = plan_step(facts, action, at=at)
    if step is None:
        return None
    before = facts.incident.status
    row = repo.add_status_event(
        session,
        incident_id=incident_id,
        event=StatusEvent(status=step.event, at=at, actor=actor, note=note),
        new_status=step.new_status,
    )
    append_audit(
        session,
        actor=actor,
        entity=INCIDENT_ENTITY,
        entity_id=incident_id,
        action=action.value,
        at=at,
        incident_id=incident_id,
        data={"event": step.event, "from": before, "to": step.new_status, "note": note},
    )
    return row


def apply_action(
    db: Database, *, incident_id: str, action: Action, actor: str, at: datetime | None = None, note: str = ""
) -> IncidentRow:
    """Apply a lifecycle action (one transaction) and return the incident as it now is.

    A resolved incident is then indexed in the memory, so the next similar one is recognised.
    """
    when = _now(at)
    with db.session() as session:
        row = apply_action_in(session, incident_id=incident_id, action=action, actor=actor, at=when, note=note)
        current = row if row is not None else repo.incident_facts(session, incident_id).incident
    if action is Action.RESOLVE:
        index_incident(db, incident_id)
    return current


def acknowledge(
    db: Database, *, incident_id: str, actor: str, at: datetime | None = None, note: str = ""
) -> IncidentRow:
    return apply_action(db, incident_id=incident_id, action=Action.ACK, actor=actor, at=at, note=note)


def take_ownership(
    db: Database, *, incident_id: str, actor: str, at: datetime | None = None, note: str = ""
) -> IncidentRow:
    """The assigned owner engaged: marks `owned` (once per owner; a reassignment needs a new `own`)."""
    return apply_action(db, incident_id=incident_id, action=Action.OWN, actor=actor, at=at, note=note)


def mitigate(db: Database, *, incident_id: str, actor: str, at: datetime | None = None, note: str = "") -> IncidentRow:
    return apply_action(db, incident_id=incident_id, action=Action.MITIGATE, actor=actor, at=at, note=note)


def resolve(db: Database, *, incident_id: str, actor: str, at: datetime | None = None, note: str = "") -> IncidentRow:
    return apply_action(db, incident_id=incident_id, action=Action.RESOLVE, actor=actor, at=at, note=note)


def close(db: Database, *, incident_id: str, actor: str, at: datetime | None = None, note: str = "") -> IncidentRow:
    return apply_action(db, incident_id=incident_id, action=Action.CLOSE, actor=actor, at=at, note=note)


def reopen(db: Database, *, incident_id: str, actor: str, at: datetime | None = None, note: str = "") -> IncidentRow:
    return apply_action(db, incident_id=incident_id, action=Action.REOPEN, actor=actor, at=at, note=note)


@dataclass(frozen=True, slots=True)
class AssignResult:
    incident: IncidentRow
    owner: str
    previous_owner: str | None
    reassignments: int


def assign(
    db: Database,
    *,
    incident_id: str,
    owner: str,
    actor: str,
    at: datetime | None = None,
    note: str = "",
    known_users: Collection[str] | None = None,
) -> AssignResult:
    """Record the owner (person or team); a change from a previous owner counts as a reassignment.

    With `known_users` (the configured users), a person must be one of them: a typo would otherwise page
    nobody. A team is written as a handle starting with "@" (as in CODEOWNERS) and is not checked.
    """
    when = _now(at)
    owner = owner.strip()
    check_owner(owner, known_users)
    with db.session() as session:
        facts = repo.incident_facts(session, incident_id, lock=True)
        check_assignment(facts, owner=owner, at=when)
        previous = current_owner(facts.assignments)
        item = Assignment(owner=owner, at=when, actor=actor, note=note)
        repo.add_assignment(session, incident_id=incident_id, item=item)
        count = reassignments((*facts.assignments, item))
        append_audit(
            session,
            actor=actor,
            entity=INCIDENT_ENTITY,
            entity_id=incident_id,
            action="reassign" if previous is not None else "assign",
            at=when,
            incident_id=incident_id,
            data={"owner": owner, "previous_owner": previous, "note": note},
        )
        return AssignResult(incident=facts.incident, owner=owner, previous_owner=previous, reassignments=count)


def check_owner(owner: str, known_users: Collection[str] | None) -> None:
    if known_users is None or owner.startswith("@") or owner in known_users:
        return
    known = ", ".join(sorted(known_users)) or "none configured"
    raise InputError(f"unknown user {owner!r}: not among the configured users ({known}); a team is written @team")


def incident_facts(db: Database, *, incident_id: str) -> IncidentFacts:
    """Read an incident's row, status history and assignments."""
    with db.session(readonly=True) as session:
        return repo.incident_facts(session, incident_id)
