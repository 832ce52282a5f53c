"""The hypothesis ledger across investigations: decisions persist, refuted stay visible, understood once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from incidentlens.errors import InputError, TransitionError
from incidentlens.model.enums import FaultKind, HypothesisStatus, IncidentStatus, Severity
from incidentlens.model.records import Hypothesis, Prediction
from incidentlens.store.database import Database, open_database
from incidentlens.store.errors import NotFoundError
from incidentlens.store.repository import get_incident
from incidentlens.workflow import incidents as lc
from incidentlens.workflow.audit import audit_trail, check_audit
from incidentlens.workflow.investigations import record_investigation
from incidentlens.workflow.ledger import decide_hypothesis, ledger_entries

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
H = HypothesisStatus


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    try:
        yield database
    finally:
        database.dispose()


def _hyp(hid: str, service: str, confidence: float) -> Hypothesis:
    return Hypothesis(
        id=hid,
        claim=f"{service} is the root cause",
        service=service,
        fault=FaultKind.CODE,
        confidence=confidence,
        supporting=(f"ev-{service}",),
        predictions=(Prediction(f"{service} errors stop after rollback", "rate < 1%", "errors continue"),),
        status=H.SUPPORTED,
    )


def _investigate(db: Database, hypotheses: tuple[Hypothesis, ...], minute: float) -> str:
    return record_investigation(
        db,
        title="checkout errors",
        service="checkout",
        severity=Severity.HIGH,
        detected_ns=int(T0.timestamp()) * 1_000_000_000,
        alert_fingerprint="fp-checkout",
        evidence=(),
        hypotheses=hypotheses,
        brief_json="{}",
        workspace="/ws",
        inputs={},
        now=at(minute),
    ).incident_id


def test_decisions_survive_a_later_investigation_of_the_same_alert(db: Database) -> None:
    inc = _investigate(db, (_hyp("H-pay", "payment", 0.7), _hyp("H-db", "db", 0.5)), 1)
    refuted = decide_hypothesis(
        db,
        incident_id=inc,
        hypothesis_id="H-db",
        decision=H.REFUTED,
        comment="db latency flat",
        actor="alice",
        at=at(3),
    )
    assert not refuted.marked_understood
    # A second investigation of the same alert ranks both again, in a different order, plus a new one.
    assert _investigate(db, (_hyp("H-db", "db", 0.8), _hyp("H-net", "network", 0.4)), 5) == inc
    confirmed = decide_hypothesis(
        db, incident_id=inc, hypothesis_id="H-pay", decision=H.CONFIRMED, comment="", actor="bob", at=at(6)
    )
    assert confirmed.marked_understood
    detail = get_incident(db, inc)
    assert len(detail.investigations) == 2
    ledger = {e.hypothesis.id: e for e in ledger_entries(detail)}
    assert ledger["H-db"].status is H.REFUTED and ledger["H-db"].times_ranked == 2
    assert ledger["H-db"].in_latest_investigation and ledger["H-db"].latest_rank == 1
    assert ledger["H-db"].decision is not None and ledger["H-db"].decision.comment == "db latency flat"
    assert ledger["H-db"].hypothesis.confidence == 0.8  # the latest ranking's numbers
    assert ledger["H-pay"].status is H.CONFIRMED and not ledger["H-pay"].in_latest_investigation
    assert ledger["H-net"].status is H.SUPPORTED and ledger["H-net"].decision is None
    assert [e.hypothesis.id for e in ledger_entries(detail)] == ["H-db", "H-net", "H-pay"]
    # The per-investigation rows are kept whole: nothing was erased.
    with db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM hypotheses")).scalar_one() == 4


def test_first_confirmation_marks_understood_once(db: Database) -> None:
    inc = _investigate(db, (_hyp("H1", "payment", 0.7), _hyp("H2", "db", 0.5)), 1)
    first = decide_hypothesis(
        db, incident_id=inc, hypothesis_id="H1", decision=H.CONFIRMED, comment="", actor="a", at=at(4)
    )
    second = decide_hypothesis(
        db, incident_id=inc, hypothesis_id="H2", decision=H.CONFIRMED, comment="", actor="a", at=at(5)
    )
    assert first.marked_understood and not second.marked_understood
    facts = lc.incident_facts(db, incident_id=inc)
    understood = [e for e in facts.status_events if e.status is IncidentStatus.UNDERSTOOD]
    assert len(understood) == 1 and understood[0].at == at(4) and understood[0].note == "hypothesis H1 confirmed"
    assert facts.incident.status is IncidentStatus.UNDERSTOOD
    actions = [(e.entity, e.entity_id, e.action) for e in audit_trail(db, incident_id=inc)][2:]
    assert actions == [
        ("hypothesis", f"{inc}/H1", "confirm"),
        ("incident", inc, "understand"),
        ("hypothesis", f"{inc}/H2", "confirm"),
    ]
    check_audit(db)


def test_refute_needs_a_comment_and_repeats_are_refused(db: Database) -> None:
    inc = _investigate(db, (_hyp("H1", "payment", 0.7),), 1)
    with pytest.raises(InputError, match="needs a comment"):
        decide_hypothesis(db, incident_id=inc, hypothesis_id="H1", decision=H.REFUTED, comment="  ", actor="a")
    decide_hypothesis(db, incident_id=inc, hypothesis_id="H1", decision=H.REFUTED, comment="no", actor="a", at=at(2))
    with pytest.raises(TransitionError, match="already refuted by a"):
        decide_hypothesis(db, incident_id=inc, hypothesis_id="H1", decision=H.REFUTED, comment="x", actor="b")
    # Changing one's mind is a new decision on top; the refutation stays in the history.
    decide_hypothesis(db, incident_id=inc, hypothesis_id="H1", decision=H.CONFIRMED, comment="", actor="b", at=at(3))
    (entry,) = ledger_entries(get_incident(db, inc))
    assert entry.status is H.CONFIRMED
    assert [(d.decision, d.comment) for d in entry.decisions] == [(H.REFUTED, "no"), (H.CONFIRMED, "")]


def test_unknown_hypothesis_incident_or_decision_kind(db: Database) -> None:
    inc = _investigate(db, (_hyp("H1", "payment", 0.7),), 1)
    with pytest.raises(NotFoundError, match=r"no hypothesis 'H9' \(known: H1\)"):
        decide_hypothesis(db, incident_id=inc, hypothesis_id="H9", decision=H.CONFIRMED, comment="", actor="a")
    with pytest.raises(NotFoundError, match="INC-0404"):
        decide_hypothesis(db, incident_id="INC-0404", hypothesis_id="H1", decision=H.CONFIRMED, comment="", actor="a")
    with pytest.raises(InputError, match="confirmed or refuted"):
        decide_hypothesis(db, incident_id=inc, hypothesis_id="H1", decision=H.SUPPORTED, comment="", actor="a")
    assert len(audit_trail(db, incident_id=inc)) == 2


def test_a_job_records_onto_its_incident_even_if_resolved_meanwhile(db: Database) -> None:
    inc = _investigate(db, (_hyp("H-pay", "payment", 0.7),), 1)
    lc.resolve(db, incident_id=inc, actor="alice", at=at(2))
    late = record_investigation(
        db,
        title="checkout errors",
        service="checkout",
        severity=Severity.HIGH,
        detected_ns=int(T0.timestamp()) * 1_000_000_000,
        alert_fingerprint="fp-checkout",
        evidence=(),
        hypotheses=(_hyp("H-pay", "payment", 0.9),),
        brief_json="{}",
        workspace="/ws",
        inputs={},
        now=at(3),
        into_incident=inc,
    )
    assert late.incident_id == inc and not late.created_incident
    assert len(get_incident(db, inc).investigations) == 2
    with pytest.raises(NotFoundError):
        record_investigation(
            db,
            title="x",
            service=None,
            severity=Severity.HIGH,
            detected_ns=0,
            alert_fingerprint="fp-x",
            evidence=(),
            hypotheses=(),
            brief_json="{}",
            workspace="/ws",
            inputs={},
            into_incident="INC-9999",
        )


def test_the_incident_title_follows_the_ledger(db: Database) -> None:
    """The title used to stay frozen to the first brief's leading hypothesis, even after it was refuted."""
    inc = _investigate(db, (_hyp("H-pay", "payment", 0.7), _hyp("H-db", "db", 0.5)), 1)

    def title() -> str:
        return get_incident(db, inc).incident.title

    decide_hypothesis(db, incident_id=inc, hypothesis_id="H-pay", decision=H.REFUTED, comment="flat", actor="a")
    assert title() == "checkout errors — leading hypothesis: db"
    _investigate(db, (_hyp("H-net", "network", 0.9), _hyp("H-db", "db", 0.8)), 5)
    assert title() == "checkout errors — leading hypothesis: network"
    decide_hypothesis(db, incident_id=inc, hypothesis_id="H-db", decision=H.CONFIRMED, comment="", actor="a")
    assert title() == "checkout errors — confirmed cause: db"
