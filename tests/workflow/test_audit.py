"""The audit chain on a real SQLite file and a real PostgreSQL database, tampered with directly through SQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa

from incidentlens.errors import AuditIntegrityError, StoreError
from incidentlens.store.database import Database, open_database
from incidentlens.workflow.audit import (
    GENESIS_HASH,
    append_audit,
    audit_trail,
    canonical_json,
    check_audit,
    entry_hash,
    verify_audit,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    try:
        yield database
    finally:
        database.dispose()


def _fill(db: Database, n: int = 5) -> None:
    for i in range(n):
        with db.session() as session:
            append_audit(
                session,
                actor="alice" if i % 2 else "incidentlens",
                entity="incident",
                entity_id="INC-0001",
                action=f"step-{i + 1}",
                at=T0 + timedelta(minutes=i),
                incident_id="INC-0001" if i != 2 else None,
                data={"n": i, "note": "héllo", "when": T0},
            )


def _sql(db: Database, *statements: str) -> None:
    """Tamper as an attacker with database access would: plain SQL on a fresh connection, outside the app."""
    engine = sa.create_engine(db.engine.url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_entries_chain_from_genesis_and_verify(db: Database) -> None:
    _fill(db)
    trail = audit_trail(db)
    assert [e.seq for e in trail] == [1, 2, 3, 4, 5]
    assert trail[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in pairwise(trail))
    assert trail[0].payload == {"n": 0, "note": "héllo", "when": "2026-03-01T12:00:00.123456+00:00"}
    assert trail[0].at == T0
    result = check_audit(db)
    assert result.ok and result.entries == 5 and result.head_seq == 5 and result.head_hash == trail[-1].hash
    assert [e.seq for e in audit_trail(db, incident_id="INC-0001")] == [1, 2, 4, 5]


def test_hash_covers_every_field() -> None:
    fields = {
        "seq": 1,
        "at": T0,
        "actor": "a",
        "incident_id": None,
        "entity": "incident",
        "entity_id": "X",
        "action": "ack",
        "data": "{}",
        "prev_hash": GENESIS_HASH,
    }
    base = entry_hash(**fields)  # type: ignore[arg-type]
    changed = {"seq": 2, "at": T0 + timedelta(microseconds=1), "actor": "b", "incident_id": "X", "entity": "e"}
    changed |= {"entity_id": "Y", "action": "own", "data": '{"a":1}', "prev_hash": "1" * 64}
    for key, value in changed.items():
        assert entry_hash(**{**fields, key: value}) != base, key  # type: ignore[arg-type]


def test_canonical_json_is_order_independent_and_refuses_nan() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == canonical_json({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'
    with pytest.raises(StoreError, match="audit data"):
        canonical_json({"x": float("nan")})


def test_empty_chain_verifies(db: Database) -> None:
    result = verify_audit(db)
    assert result.ok and result.entries == 0 and result.head_seq == 0


def test_entry_is_part_of_the_callers_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as session:
        append_audit(session, actor="a", entity="incident", entity_id="X", action="ack", at=T0)
        raise RuntimeError("the change failed")
    assert audit_trail(db) == []
    assert verify_audit(db).ok


def test_naive_time_and_empty_fields_are_refused(db: Database) -> None:
    with pytest.raises(StoreError, match="naive"), db.session() as session:
        append_audit(session, actor="a", entity="e", entity_id="X", action="ack", at=datetime(2026, 1, 1))
    with pytest.raises(StoreError, match="actor"), db.session() as session:
        append_audit(session, actor="", entity="e", entity_id="X", action="ack", at=T0)


@pytest.mark.parametrize(
    ("statements", "bad_seq", "reason"),
    [
        (["UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"], 3, "modified"),
        (["UPDATE audit_log SET data = '{\"n\":99}' WHERE seq = 2"], 2, "modified"),
        (["UPDATE audit_log SET at = '2020-01-01 00:00:00.000000' WHERE seq = 4"], 4, "modified"),
        (["DELETE FROM audit_log WHERE seq = 3"], 3, "missing"),
        (["DELETE FROM audit_log WHERE seq = 5"], 5, "head records 5"),
        (["DELETE FROM audit_log WHERE seq >= 4"], 4, "head records 5"),
        (
            [
                "UPDATE audit_log SET seq = -3 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = 4",
                "UPDATE audit_log SET seq = 4 WHERE seq = -3",
            ],
            3,
            "modified",
        ),
        (
            [
                "INSERT INTO audit_log (seq, at, actor, incident_id, entity, entity_id, action, data, prev_hash, hash)"
                " SELECT 6, at, 'mallory', incident_id, entity, entity_id, 'approve', data, hash, hash"
                " FROM audit_log WHERE seq = 5"
            ],
            6,
            "modified",
        ),
    ],
    ids=["actor", "data", "time", "delete-middle", "delete-last", "delete-tail", "swap", "insert-forged"],
)
def test_tampering_is_detected(db: Database, statements: list[str], bad_seq: int, reason: str) -> None:
    _fill(db)
    db.dispose()
    _sql(db, *statements)
    result = verify_audit(db)
    assert not result.ok
    assert result.first_bad_seq == bad_seq
    assert reason in (result.reason or "")
    with pytest.raises(AuditIntegrityError, match=f"seq {bad_seq}"):
        check_audit(db)


def test_forged_entry_with_a_correct_hash_is_caught_by_the_head(db: Database) -> None:
    """A forger who computes a valid hash for an appended row still does not move the head."""
    _fill(db, 3)
    last = audit_trail(db)[-1]
    db.dispose()
    digest = entry_hash(
        seq=4,
        at=T0,
        actor="mallory",
        incident_id=None,
        entity="fix",
        entity_id="FIX-1",
        action="approve",
        data="{}",
        prev_hash=last.hash,
    )
    _sql(
        db,
        "INSERT INTO audit_log (seq, at, actor, incident_id, entity, entity_id, action, data, prev_hash, hash)"
        f" VALUES (4, '2026-03-01 12:00:00.123456', 'mallory', NULL, 'fix', 'FIX-1', 'approve', '{{}}',"
        f" '{last.hash}', '{digest}')",
    )
    result = verify_audit(db)
    assert result.first_bad_seq == 4 and "beyond the recorded head" in (result.reason or "")


def test_forged_middle_entry_breaks_the_link(db: Database) -> None:
    """Replacing entry 2 with a self-consistent forgery leaves entry 3 pointing at the old hash."""
    _fill(db, 4)
    first = audit_trail(db)[0]
    db.dispose()
    at = "2026-03-01 12:01:00.123456"
    digest = entry_hash(
        seq=2,
        at=T0 + timedelta(minutes=1),
        actor="mallory",
        incident_id="INC-0001",
        entity="incident",
        entity_id="INC-0001",
        action="step-2",
        data="{}",
        prev_hash=first.hash,
    )
    _sql(
        db,
        f"UPDATE audit_log SET actor = 'mallory', data = '{{}}', at = '{at}', hash = '{digest}' WHERE seq = 2",
    )
    result = verify_audit(db)
    assert result.first_bad_seq == 3 and "prev_hash" in (result.reason or "")


def test_missing_head_row_is_reported(db: Database) -> None:
    _fill(db, 2)
    db.dispose()
    _sql(db, "DELETE FROM audit_head")
    result = verify_audit(db)
    assert not result.ok and "head row is missing" in (result.reason or "")
    with pytest.raises(AuditIntegrityError, match="head row is missing"), db.session() as session:
        append_audit(session, actor="a", entity="e", entity_id="X", action="ack", at=T0)


def test_concurrent_writers_keep_one_chain(database_url: str) -> None:
    databases = [open_database(database_url) for _ in range(4)]
    errors: list[BaseException] = []

    def write(database: Database, worker: int) -> None:
        try:
            for i in range(10):
                with database.session() as session:
                    append_audit(session, actor=f"w{worker}", entity="e", entity_id=str(i), action="write", at=T0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(d, n)) for n, d in enumerate(databases)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        result = check_audit(databases[0])
        assert result.entries == 40
    finally:
        for database in databases:
            database.dispose()
