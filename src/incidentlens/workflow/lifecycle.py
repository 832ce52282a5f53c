"""Incident lifecycle rules: which step is allowed now, and what the incident's status becomes. No I/O.

An incident is detected (alert start), opened, then — in whatever order the response happens —
acknowledged, investigating, understood (a human confirmed a hypothesis), owned (the assigned owner
engaged), mitigated; then resolved and closed. Each milestone is a status event with time and actor.
The incident's `status` column is the furthest milestone reached (an early-stage event recorded late
does not move it back); reopening a resolved incident is the one step backwards, to investigating.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise

from incidentlens.errors import TransitionError
from incidentlens.model.enums import IncidentStatus
from incidentlens.store.rows import Assignment, IncidentFacts, StatusEvent

__all__ = [
    "Action",
    "Step",
    "check_assignment",
    "current_owner",
    "episode_events",
    "owned_since_assignment",
    "plan_step",
    "reassignments",
]

S = IncidentStatus
# Progress order of the status column while an incident is open.
_PROGRESS = (S.DETECTED, S.OPENED, S.ACKNOWLEDGED, S.INVESTIGATING, S.UNDERSTOOD, S.OWNED, S.MITIGATED)
_RANK = {status: rank for rank, status in enumerate(_PROGRESS)}


class Action(StrEnum):
    """What a person (or the system) does to an incident; each maps to one status event."""

    ACK = "ack"
    UNDERSTAND = "understand"
    OWN = "own"
    MITIGATE = "mitigate"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


_EVENT = {
    Action.ACK: S.ACKNOWLEDGED,
    Action.UNDERSTAND: S.UNDERSTOOD,
    Action.OWN: S.OWNED,
    Action.MITIGATE: S.MITIGATED,
    Action.RESOLVE: S.RESOLVED,
    Action.CLOSE: S.CLOSED,
    Action.REOPEN: S.INVESTIGATING,
}


@dataclass(frozen=True, slots=True)
class Step:
    """The status event to append and the status the incident then has."""

    event: IncidentStatus
    new_status: IncidentStatus


def _last(events: Sequence[StatusEvent], status: IncidentStatus) -> StatusEvent | None:
    return next((e for e in reversed(events) if e.status is status), None)


def episode_events(events: Sequence[StatusEvent], current: IncidentStatus) -> Sequence[StatusEvent]:
    """Events since the incident was last reopened (all of them if it never was)."""
    if current in (S.RESOLVED, S.CLOSED):
        return events
    resolved_at = max((i for i, e in enumerate(events) if e.status is S.RESOLVED), default=-1)
    return events[resolved_at + 1 :]


def current_owner(assignments: Sequence[Assignment]) -> str | None:
    return assignments[-1].owner if assignments else None


def reassignments(assignments: Sequence[Assignment]) -> int:
    """Changes of owner after the first assignment: each one is a misroute."""
    return sum(1 for before, after in pairwise(assignments) if before.owner != after.owner)


def owned_since_assignment(facts: IncidentFacts) -> StatusEvent | None:
    """The current owner's engagement: the first `owned` event at or after the last change of owner."""
    if not facts.assignments:
        return None
    since = _owner_since(facts.assignments)
    return next((e for e in facts.status_events if e.status is S.OWNED and e.at >= since), None)


def _owner_since(assignments: Sequence[Assignment]) -> datetime:
    # Re-assigning to the same owner is refused, so the last assignment is the last change of owner.
    return assignments[-1].at


def plan_step(facts: IncidentFacts, action: Action, *, at: datetime) -> Step | None:
    """The step `action` makes now, None when it changes nothing (a second confirmation), or TransitionError."""
    incident = facts.incident
    name, current = incident.id, incident.status
    if at < incident.detected_at:
        raise TransitionError(
            f"{name}: {action.value} at {at.isoformat()} is before the incident was detected "
            f"({incident.detected_at.isoformat()}); check the clock"
        )
    events = facts.status_events
    if action is Action.UNDERSTAND:
        # Confirming a hypothesis is allowed at any time (even in a postmortem); only the first one counts.
        if _last(events, S.UNDERSTOOD) is not None:
            return None
        return Step(S.UNDERSTOOD, _forward(current, S.UNDERSTOOD))
    if current is S.CLOSED:
        raise TransitionError(f"{name} is closed: a closed incident is final (open a new one if it recurs)")
    if action is Action.CLOSE:
        if current is not S.RESOLVED:
            raise TransitionError(f"cannot close {name}: it is {current.value}; resolve it first")
        return Step(S.CLOSED, S.CLOSED)
    if action is Action.REOPEN:
        if current is not S.RESOLVED:
            raise TransitionError(f"cannot reopen {name}: it is {current.value}, not resolved")
        return Step(S.INVESTIGATING, S.INVESTIGATING)
    if current is S.RESOLVED:
        verb = "resolve" if action is Action.RESOLVE else action.value
        raise TransitionError(f"cannot {verb} {name}: it is already resolved (reopen it first)")
    if action is Action.ACK:
        done = _last(events, S.ACKNOWLEDGED)
        if done is not None:
            raise TransitionError(f"{name} was already acknowledged by {done.actor} at {done.at.isoformat()}")
    elif action is Action.OWN:
        owner = current_owner(facts.assignments)
        if owner is None:
            raise TransitionError(f"cannot own {name}: it has no owner yet (assign one first)")
        done = owned_since_assignment(facts)
        if done is not None:
            raise TransitionError(f"{name} is already owned: {owner} engaged at {done.at.isoformat()}")
    elif action is Action.MITIGATE:
        done = _last(episode_events(events, current), S.MITIGATED)
        if done is not None:
            raise TransitionError(f"{name} was already mitigated by {done.actor} at {done.at.isoformat()}")
    elif action is Action.RESOLVE:
        return Step(S.RESOLVED, S.RESOLVED)
    event = _EVENT[action]
    return Step(event, _forward(current, event))


def _forward(current: IncidentStatus, reached: IncidentStatus) -> IncidentStatus:
    if current not in _RANK:
        return current  # resolved or closed: a late milestone does not reopen it
    return reached if _RANK[reached] > _RANK[current] else current


def check_assignment(facts: IncidentFacts, *, owner: str, at: datetime) -> None:
    """Assigning is allowed while the incident is open, to someone other than the current owner."""
    incident = facts.incident
    if not owner.strip():
        raise TransitionError(f"cannot assign {incident.id}: the owner is empty")
    if at < incident.detected_at:
        raise TransitionError(
            f"{incident.id}: assignment at {at.isoformat()} is before the incident was detected; check the clock"
        )
    if incident.status in (S.RESOLVED, S.CLOSED):
        raise TransitionError(f"cannot assign {incident.id}: it is {incident.status.value}")
    if current_owner(facts.assignments) == owner:
        raise TransitionError(f"{incident.id} is already assigned to {owner}")
