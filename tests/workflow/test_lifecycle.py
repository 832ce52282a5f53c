"""Lifecycle steps on a real SQLite workflow database: allowed and refused transitions, audit in step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from incidentlens.errors import TransitionError
from incidentlens.model.enums import IncidentStatus, Severity
from incidentlens.store.database import Database, open_database
from incidentlens.store.errors import NotFoundError
from incidentlens.workflow import incidents as lc
from incidentlens.workflow.audit import audit_trail, check_audit
from incidentlens.workflow.investigations import record_investigation
from incidentlens.workflow.lifecycle import Action

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
S = IncidentStatus


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    try:
        yield database
    finally:
        database.dispose()


def _incident(db: Database, fingerprint: str = "fp-1") -> str:
    recorded = record_investigation(
        db,
        title="checkout errors",
        service="checkout",
        severity=Severity.HIGH,
        detected_ns=int(T0.timestamp()) * 1_000_000_000,
        alert_fingerprint=fingerprint,
        evidence=(),
        hypotheses=(),
        brief_json="{}",
        workspace="/ws",
        inputs={},
        now=at(1),
    )
    return recorded.incident_id


def _statuses(db: Database, incident: str) -> list[S]:
    return [e.status for e in lc.incident_facts(db, incident_id=incident).status_events]


def test_full_lifecycle_records_each_step_with_actor_and_time(db: Database) -> None:
    inc = _incident(db)
    assert lc.acknowledge(db, incident_id=inc, actor="alice", at=at(3)).status is S.INVESTIGATING
    lc.assign(db, incident_id=inc, owner="team-payments", actor="alice", at=at(4))
    assert lc.take_ownership(db, incident_id=inc, actor="bob", at=at(6)).status is S.OWNED
    assert lc.mitigate(db, incident_id=inc, actor="bob", at=at(10), note="rolled back").status is S.MITIGATED
    assert lc.resolve(db, incident_id=inc, actor="bob", at=at(20)).status is S.RESOLVED
    assert lc.close(db, incident_id=inc, actor="alice", at=at(30)).status is S.CLOSED
    facts = lc.incident_facts(db, incident_id=inc)
    assert [e.status for e in facts.status_events] == [
        S.DETECTED, S.OPENED, S.INVESTIGATING, S.ACKNOWLEDGED, S.OWNED, S.MITIGATED, S.RESOLVED, S.CLOSED,
    ]  # fmt: skip
    assert facts.status_events[5].actor == "bob" and facts.status_events[5].note == "rolled back"
    assert facts.status_events[5].at == at(10)
    actions = [(e.entity, e.action, e.actor) for e in audit_trail(db, incident_id=inc)]
    assert actions == [
        ("incident", "open", "incidentlens"),
        ("investigation", "record", "incidentlens"),
        ("incident", "ack", "alice"),
        ("incident", "assign", "alice"),
        ("incident", "own", "bob"),
        ("incident", "mitigate", "bob"),
        ("incident", "resolve", "bob"),
        ("incident", "close", "alice"),
    ]
    assert audit_trail(db, incident_id=inc)[5].payload == {
        "event": "mitigated", "from": "owned", "to": "mitigated", "note": "rolled back",
    }  # fmt: skip
    assert check_audit(db).entries == 8


def test_acknowledging_twice_is_a_clear_error_and_writes_nothing(db: Database) -> None:
    inc = _incident(db)
    lc.acknowledge(db, incident_id=inc, actor="alice", at=at(2))
    with pytest.raises(TransitionError, match=r"already acknowledged by alice at 2026-05-04T10:02"):
        lc.acknowledge(db, incident_id=inc, actor="bob", at=at(3))
    assert _statuses(db, inc).count(S.ACKNOWLEDGED) == 1
    assert len(audit_trail(db, incident_id=inc)) == 3


@pytest.mark.parametrize(
    ("action", "message"),
    [(Action.CLOSE, "resolve it first"), (Action.REOPEN, "not resolved"), (Action.OWN, "no owner yet")],
)
def test_refused_steps_on_an_open_incident(db: Database, action: Action, message: str) -> None:
    inc = _incident(db)
    with pytest.raises(TransitionError, match=message):
        lc.apply_action(db, incident_id=inc, action=action, actor="alice", at=at(5))
    assert lc.incident_facts(db, incident_id=inc).incident.status is S.INVESTIGATING


def test_resolved_incident_refuses_work_until_reopened_then_resolves_again(db: Database) -> None:
    inc = _incident(db)
    lc.mitigate(db, incident_id=inc, actor="a", at=at(5))
    lc.resolve(db, incident_id=inc, actor="a", at=at(6))
    for action in (Action.ACK, Action.MITIGATE, Action.RESOLVE, Action.OWN):
        with pytest.raises(TransitionError, match="already resolved"):
            lc.apply_action(db, incident_id=inc, action=action, actor="a", at=at(7))
    with pytest.raises(TransitionError, match="it is resolved"):
        lc.assign(db, incident_id=inc, owner="x", actor="a", at=at(7))
    assert lc.reopen(db, incident_id=inc, actor="a", at=at(8)).status is S.INVESTIGATING
    # A new episode: mitigating again is allowed after the reopen, and so is resolving.
    assert lc.mitigate(db, incident_id=inc, actor="a", at=at(9)).status is S.MITIGATED
    with pytest.raises(TransitionError, match="already mitigated"):
        lc.mitigate(db, incident_id=inc, actor="a", at=at(10))
    lc.resolve(db, incident_id=inc, actor="a", at=at(11))
    lc.close(db, incident_id=inc, actor="a", at=at(12))
    for action in (Action.REOPEN, Action.ACK, Action.CLOSE):
        with pytest.raises(TransitionError, match="closed incident is final"):
            lc.apply_action(db, incident_id=inc, action=action, actor="a", at=at(13))


def test_status_column_keeps_the_furthest_milestone(db: Database) -> None:
    inc = _incident(db)
    lc.mitigate(db, incident_id=inc, actor="a", at=at(2))
    assert lc.acknowledge(db, incident_id=inc, actor="a", at=at(3)).status is S.MITIGATED


def test_assignment_counts_reassignments_and_ownership_follows_the_owner(db: Database) -> None:
    inc = _incident(db)
    first = lc.assign(db, incident_id=inc, owner="team-a", actor="alice", at=at(2))
    assert first.previous_owner is None and first.reassignments == 0
    lc.take_ownership(db, incident_id=inc, actor="anna", at=at(3))
    with pytest.raises(TransitionError, match="already owned: team-a engaged"):
        lc.take_ownership(db, incident_id=inc, actor="anna", at=at(4))
    with pytest.raises(TransitionError, match="already assigned to team-a"):
        lc.assign(db, incident_id=inc, owner="team-a", actor="alice", at=at(4))
    second = lc.assign(db, incident_id=inc, owner="team-b", actor="alice", at=at(5))
    assert second.previous_owner == "team-a" and second.reassignments == 1
    # The new owner has not engaged yet: owning again is allowed, once.
    lc.take_ownership(db, incident_id=inc, actor="ben", at=at(7))
    third = lc.assign(db, incident_id=inc, owner="team-a", actor="alice", at=at(8))
    assert third.reassignments == 2
    trail = audit_trail(db, incident_id=inc)
    assert [e.action for e in trail if e.entity == "incident"][-1] == "reassign"
    assert trail[-1].payload == {"owner": "team-a", "previous_owner": "team-b", "note": ""}


def test_times_before_detection_and_unknown_incidents_are_refused(db: Database) -> None:
    inc = _incident(db)
    with pytest.raises(TransitionError, match="before the incident was detected"):
        lc.acknowledge(db, incident_id=inc, actor="a", at=at(-5))
    with pytest.raises(NotFoundError, match="INC-9999"):
        lc.acknowledge(db, incident_id="INC-9999", actor="a", at=at(1))
    with pytest.raises(TransitionError, match="owner is empty"):
        lc.assign(db, incident_id=inc, owner="  ", actor="a", at=at(1))


def test_later_investigation_of_the_same_alert_is_audited_not_reopened(db: Database) -> None:
    inc = _incident(db)
    assert _incident(db) == inc
    trail = audit_trail(db, incident_id=inc)
    assert [(e.entity, e.action) for e in trail] == [
        ("incident", "open"),
        ("investigation", "record"),
        ("investigation", "record"),
    ]
    assert trail[0].payload["events"][0] == {
        "status": "detected",
        "at": "2026-05-04T10:00:00.000000+00:00",
        "actor": "incidentlens",
    }
