"""Indexing resolved incidents from a real SQLite workflow database, and the recurrence metrics."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from incidentlens.errors import InputError, StoreError
from incidentlens.memory.fingerprint import Family, Feature, Symptoms
from incidentlens.memory.indexing import (
    FIX_GIVEN,
    FIX_NOTE,
    FIX_SUGGESTED,
    index_incident,
    load_fingerprints,
    load_index,
    reindex_all,
)
from incidentlens.memory.stats import memory_stats
from incidentlens.model import (
    Evidence,
    EvidenceKind,
    FaultKind,
    Hypothesis,
    HypothesisStatus,
    IncidentStatus,
    Owner,
    OwnerSource,
    Severity,
)
from incidentlens.store import NotFoundError, set_incident_status
from incidentlens.store.database import Database, open_database
from incidentlens.workflow import record_investigation

SIGNATURE = Feature(Family.SIGNATURE, "payment", "KeyError at charge.py:processing_fee")
TEMPLATE = Feature(Family.TEMPLATE, "payment", "charge failed for card <*>")
DIAGNOSIS = Feature(Family.DIAGNOSIS, "payment", "code")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(workspace=tmp_path / "ws")
    try:
        yield database
    finally:
        database.dispose()


def _hypothesis(
    hid: str, service: str, fault: FaultKind, status: HypothesisStatus = HypothesisStatus.PROPOSED
) -> Hypothesis:
    return Hypothesis(
        hid,
        f"{service} {fault.value}",
        service,
        fault,
        0.8,
        ("ev-tpl",),
        status=status,
        component="charge.py",
        owners=(Owner("@shop/payments", OwnerSource.CODEOWNERS), Owner("@shop/payments", OwnerSource.CATALOG)),
    )


def _record(
    db: Database,
    hypotheses: list[Hypothesis],
    *,
    symptoms: Symptoms | None = None,
    seen: list[str] = (),  # type: ignore[assignment]
    fingerprint: str = "",
) -> str:
    brief: dict[str, Any] = {
        "hypotheses": [{"id": h.id, "fixes": [{"title": f"roll back {h.service}"}]} for h in hypotheses],
        "graph": [{"caller": "frontend", "callee": "checkout"}, {"caller": "checkout", "callee": "payment"}],
        "impact": {"affected_services": ["checkout", "payment"]},
        "seen_before": [{"incident_id": s} for s in seen],
    }
    if symptoms is not None:
        brief["symptoms"] = symptoms.to_dict()
    evidence = Evidence(
        "ev-tpl",
        EvidenceKind.LOG_TEMPLATE,
        "payment",
        "new template",
        "charge failed for card amex",
        attributes={"template": "charge failed for card <*>", "shift": "new", "exception_type": "KeyError"},
    )
    recorded = record_investigation(
        db,
        title="checkout fails",
        service=hypotheses[0].service if hypotheses else None,
        severity=Severity.HIGH,
        detected_ns=1_764_300_000_000_000_000,
        alert_fingerprint=fingerprint,
        evidence=[evidence],
        hypotheses=hypotheses,
        brief_json=orjson.dumps(brief).decode(),
        workspace="ws",
        inputs={},
    )
    return recorded.incident_id


def _resolve(db: Database, incident_id: str, note: str = "") -> None:
    set_incident_status(
        db, incident_id=incident_id, status=IncidentStatus.RESOLVED, at=datetime.now(UTC), actor="oncall", note=note
    )


def test_a_resolved_incident_is_indexed_with_its_confirmed_cause_fix_owners_and_path(db: Database) -> None:
    hypotheses = [
        _hypothesis("h-co", "checkout", FaultKind.CONFIG, HypothesisStatus.REFUTED),
        _hypothesis("h-pay", "payment", FaultKind.CODE, HypothesisStatus.CONFIRMED),
    ]
    incident = _record(
        db, hypotheses, symptoms=Symptoms((SIGNATURE, TEMPLATE, DIAGNOSIS), edges=(("checkout", "payment"),))
    )
    _resolve(db, incident, note="reverted the fee change (abc123)")
    fp = index_incident(db, incident)
    assert fp.cause is not None and (fp.cause.service, fp.cause.fault, fp.cause.confirmed) == (
        "payment",
        FaultKind.CODE,
        True,
    )
    assert fp.cause.component == "charge.py"
    assert fp.refuted == (("checkout", FaultKind.CONFIG),)
    assert (fp.fix, fp.fix_source) == ("reverted the fee change (abc123)", FIX_NOTE)
    assert fp.owners == ("@shop/payments",)
    assert fp.path == ("checkout", "payment")
    assert set(fp.symptoms.features) == {SIGNATURE, TEMPLATE, DIAGNOSIS}
    assert load_fingerprints(db) == [fp]
    again = index_incident(db, incident, fix="rolled back payment v2")  # re-indexing replaces the entry
    assert (again.fix, again.fix_source) == ("rolled back payment v2", FIX_GIVEN)
    assert load_fingerprints(db) == [again]


def test_without_a_confirmation_the_top_hypothesis_is_kept_as_unconfirmed(db: Database) -> None:
    incident = _record(
        db, [_hypothesis("h-pay", "payment", FaultKind.CODE), _hypothesis("h-co", "checkout", FaultKind.CONFIG)]
    )
    _resolve(db, incident)
    fp = index_incident(db, incident)
    assert fp.cause is not None and (fp.cause.service, fp.cause.confirmed) == ("payment", False)
    assert (fp.fix, fp.fix_source) == ("roll back payment", FIX_SUGGESTED)
    # Brief stored without symptoms (an older release): rebuilt from the stored evidence and hypotheses.
    assert TEMPLATE in fp.symptoms.features and Feature(Family.EXCEPTION, "payment", "KeyError") in fp.symptoms.features
    assert DIAGNOSIS in fp.symptoms.features
    assert fp.symptoms.edges == (("checkout", "payment"), ("frontend", "checkout"))
    assert fp.path == ("frontend", "checkout", "payment")


def test_only_resolved_or_closed_incidents_are_indexed(db: Database) -> None:
    incident = _record(db, [_hypothesis("h-pay", "payment", FaultKind.CODE)])
    with pytest.raises(InputError, match=rf"incident {incident} is investigating: only resolved or closed"):
        index_incident(db, incident)
    with pytest.raises(NotFoundError, match="no incident 'INC-9999'"):
        index_incident(db, "INC-9999")
    assert load_fingerprints(db) == []


def test_a_failed_build_writes_nothing(db: Database) -> None:
    incident = _record(db, [_hypothesis("h-pay", "payment", FaultKind.CODE)], symptoms=Symptoms((TEMPLATE,)))
    _resolve(db, incident)
    index_incident(db, incident)
    with db.session() as session:  # a stored brief that cannot be read as symptoms
        broken = '{"symptoms": {"features": [{"family": "template"}]}}'
        session.execute(sa.text("UPDATE investigations SET brief = :b"), {"b": broken})
    with pytest.raises(StoreError, match=rf"{incident}: the stored brief's symptoms are malformed: symptom .* needs"):
        index_incident(db, incident)
    assert [fp.symptoms.features for fp in load_fingerprints(db)] == [(TEMPLATE,)]


def test_reindex_all_takes_every_resolved_or_closed_incident_and_drops_reopened_ones(db: Database) -> None:
    first = _record(db, [_hypothesis("h1", "payment", FaultKind.CODE)], symptoms=Symptoms((TEMPLATE,)))
    second = _record(db, [_hypothesis("h2", "cart", FaultKind.CPU)], symptoms=Symptoms((DIAGNOSIS,)))
    _record(db, [_hypothesis("h3", "ad", FaultKind.CPU)])  # still open
    _resolve(db, first)
    set_incident_status(db, incident_id=second, status=IncidentStatus.CLOSED, at=datetime.now(UTC), actor="x")
    assert reindex_all(db) == [first, second]
    set_incident_status(db, incident_id=second, status=IncidentStatus.INVESTIGATING, at=datetime.now(UTC), actor="x")
    assert reindex_all(db) == [first]
    assert [fp.incident_id for fp in load_fingerprints(db)] == [first]
    assert len(load_index(db)) == 1


def test_stats_count_recurrences_and_whether_the_first_brief_surfaced_them(db: Database) -> None:
    confirmed = [_hypothesis("h", "payment", FaultKind.CODE, HypothesisStatus.CONFIRMED)]
    ids = [
        _record(db, confirmed, symptoms=Symptoms((TEMPLATE,))),
        _record(db, confirmed, symptoms=Symptoms((TEMPLATE,)), seen=["INC-0001"]),  # surfaced
        _record(db, confirmed, symptoms=Symptoms((TEMPLATE,))),  # recurs, not surfaced
        _record(db, [_hypothesis("h", "cart", FaultKind.CPU, HypothesisStatus.CONFIRMED)]),  # new cause
        _record(db, [_hypothesis("h", "payment", FaultKind.CODE)]),  # unconfirmed: not counted
    ]
    for incident in ids:
        _resolve(db, incident)
    reindex_all(db)
    stats = memory_stats(db)
    assert (stats.indexed, stats.confirmed) == (5, 4)
    assert [(r.incident_id, r.past, r.surfaced) for r in stats.recurrences] == [
        (ids[1], (ids[0],), (ids[0],)),
        (ids[2], (ids[0], ids[1]), ()),
    ]
    assert stats.recurring_share == 0.5 and stats.surfaced_share == 0.5
    data = stats.to_dict()
    assert data["recurring"] == 2 and data["surfaced"] == 1


def test_the_memory_table_comes_and_goes_with_its_migration(tmp_path: Path) -> None:
    from incidentlens.store.database import migrate

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wf.db'}")
    with engine.connect() as connection:
        migrate(connection, "head")
        assert "memory_entries" in sa.inspect(connection).get_table_names()
        migrate(connection, "0001", downgrade=True)
        assert "memory_entries" not in sa.inspect(connection).get_table_names()
    engine.dispose()


def test_hypothesis_status_survives_dataclass_replace() -> None:
    h = dataclasses.replace(_hypothesis("h", "payment", FaultKind.CODE), status=HypothesisStatus.CONFIRMED)
    assert h.status is HypothesisStatus.CONFIRMED
