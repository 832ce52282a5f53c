"""The workflow store against real SQLite files: ledger semantics, transactions, errors, round trips."""

from __future__ import annotations

import math
import re
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlens.errors import StoreError
from incidentlens.model.enums import EvidenceKind, FaultKind, HypothesisStatus, IncidentStatus, OwnerSource, Severity
from incidentlens.model.records import (
    CodeLocation,
    Evidence,
    Hypothesis,
    Owner,
    Prediction,
    SuspectCommit,
    TimeRange,
)
from incidentlens.store import NotFoundError, get_brief, get_incident, list_incidents, set_incident_status
from incidentlens.store.database import Database, open_database
from incidentlens.workflow import RecordedInvestigation, record_investigation

DETECTED_NS = 1_764_300_000_123_456_789  # 2025-11-28T03:20:00.123456789Z
TABLES = ("incidents", "investigations", "evidence", "hypotheses", "status_events", "id_sequences")

# The same constraint as SQLite and PostgreSQL word it.
SAME_FINGERPRINT = (
    r'UNIQUE constraint failed: incidents\.alert_fingerprint|unique constraint "uq_incidents_open_fingerprint"'
)
SAME_HYPOTHESIS = (
    r'UNIQUE constraint failed: hypotheses\.investigation_id, hypotheses\.id|unique constraint "pk_hypotheses"'
)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    try:
        yield database
    finally:
        database.dispose()


def _evidence(eid: str, *, score: float = 0.5, attributes: dict[str, str | float | int] | None = None) -> Evidence:
    return Evidence(
        id=eid,
        kind=EvidenceKind.LOG_BURST,
        service="checkout",
        summary=f"burst of ERROR logs ({eid})",
        excerpt="2025-11-28T03:19:58Z ERROR payment client timeout after 2000 ms",
        time_range=TimeRange(DETECTED_NS - 60_000_000_000, DETECTED_NS),
        source_ref="logs/checkout.jsonl:120-180",
        score=score,
        attributes=attributes if attributes is not None else {"count": 57, "template": "payment client timeout <*>"},
    )


def _hypothesis(hid: str, *, supporting: tuple[str, ...] = ("ev-1",), confidence: float = 0.7) -> Hypothesis:
    return Hypothesis(
        id=hid,
        claim="payment-service timeouts after deploy v2.3.1 cause checkout failures",
        service="payment",
        fault=FaultKind.CODE,
        confidence=confidence,
        supporting=supporting,
        contradicting=("ev-9",),
        predictions=(Prediction("errors stop after revert", "error rate < 1%", "errors continue"),),
        component="PaymentClient",
        status=HypothesisStatus.SUPPORTED,
        locations=(CodeLocation("src/pay/client.py", 42, 48, "charge", "timeout=2", "abc123", "frame", 0.8),),
        suspect_commits=(SuspectCommit("abc123", "dev@example.com", DETECTED_NS - 10**12, "lower timeout", ("a.py",)),),
        owners=(Owner("@payments-team", OwnerSource.CODEOWNERS, "CODEOWNERS line 3"),),
    )


def _record(
    db: Database,
    *,
    fingerprint: str = "fp-checkout-5xx",
    evidence: tuple[Evidence, ...] = (),
    hypotheses: tuple[Hypothesis, ...] = (),
    brief: str = '{"title": "checkout errors", "hypotheses": []}',
) -> RecordedInvestigation:
    return record_investigation(
        db,
        title="Checkout 5xx rate above 5%",
        service="checkout",
        severity=Severity.CRITICAL,
        detected_ns=DETECTED_NS,
        alert_fingerprint=fingerprint,
        evidence=evidence,
        hypotheses=hypotheses,
        brief_json=brief,
        workspace="/tmp/ws",
        inputs={"logs": ["logs/checkout.jsonl"], "rows": 1200},
    )


def _counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as connection:
        counts = {t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
        counts["sequence"] = connection.execute(sa.text("SELECT value FROM id_sequences")).scalar_one()
    return counts


def test_new_incident_starts_investigating_with_lifecycle_events(db: Database) -> None:
    recorded = _record(db, evidence=(_evidence("ev-1"),), hypotheses=(_hypothesis("H1"),))
    assert recorded.incident_id == "INC-0001"
    assert recorded.created_incident
    detail = get_incident(db, recorded.incident_id)
    incident = detail.incident
    assert incident.status is IncidentStatus.INVESTIGATING
    assert incident.severity is Severity.CRITICAL
    assert incident.detected_at == datetime(2025, 11, 28, 3, 20, 0, 123456, tzinfo=UTC)
    assert incident.as_incident().detected_ns == DETECTED_NS // 1000 * 1000
    assert [e.status for e in detail.status_events] == [
        IncidentStatus.DETECTED,
        IncidentStatus.OPENED,
        IncidentStatus.INVESTIGATING,
    ]
    assert detail.status_events[0].at == incident.detected_at
    assert detail.status_events[1].at == incident.opened_at
    assert all(e.at.tzinfo is UTC for e in detail.status_events)
    assert detail.investigations[0].id == recorded.investigation_id
    assert detail.investigations[0].input_summary == {"logs": ["logs/checkout.jsonl"], "rows": 1200}
    assert detail.evidence == (_evidence("ev-1"),)
    assert [h.hypothesis for h in detail.hypotheses] == [_hypothesis("H1")]
    assert get_brief(db, investigation_id=recorded.investigation_id) == {
        "title": "checkout errors",
        "hypotheses": [],
    }


def test_same_fingerprint_adds_investigation_and_keeps_ledger(db: Database) -> None:
    first = _record(
        db, evidence=(_evidence("ev-1"), _evidence("ev-2")), hypotheses=(_hypothesis("H1"), _hypothesis("H2"))
    )
    second = _record(
        db,
        evidence=(_evidence("ev-1", score=0.99), _evidence("ev-3")),
        hypotheses=(_hypothesis("H1", supporting=("ev-3",), confidence=0.9),),
    )
    assert second.incident_id == first.incident_id
    assert not second.created_incident
    assert second.investigation_id != first.investigation_id
    [row] = list_incidents(db)
    assert row.investigation_count == 2
    detail = get_incident(db, first.incident_id)
    assert [i.id for i in detail.investigations] == [second.investigation_id, first.investigation_id]
    ledger = [(h.investigation_id, h.rank, h.hypothesis.id, h.hypothesis.confidence) for h in detail.hypotheses]
    assert ledger == [
        (second.investigation_id, 1, "H1", 0.9),
        (first.investigation_id, 1, "H1", 0.7),
        (first.investigation_id, 2, "H2", 0.7),
    ]
    # Stable evidence ids: the first recording of ev-1 stands; only ev-3 is new.
    by_id = {e.id: e for e in detail.evidence}
    assert sorted(by_id) == ["ev-1", "ev-2", "ev-3"]
    assert by_id["ev-1"].score == 0.5
    assert len(detail.status_events) == 3


def test_distinct_or_empty_fingerprints_get_sequential_incidents(db: Database) -> None:
    ids = [_record(db, fingerprint=fp).incident_id for fp in ("a", "b", "", "", "a")]
    assert ids == ["INC-0001", "INC-0002", "INC-0003", "INC-0004", "INC-0001"]
    assert [row.id for row in list_incidents(db)] == ["INC-0004", "INC-0003", "INC-0002", "INC-0001"]


def test_resolved_incident_is_not_reused_and_cannot_reopen_over_an_open_one(db: Database) -> None:
    first = _record(db)
    at = datetime.now(UTC)
    resolved = set_incident_status(
        db, incident_id=first.incident_id, status=IncidentStatus.RESOLVED, at=at, actor="alice", note="reverted"
    )
    assert not resolved.is_open
    second = _record(db)
    assert second.incident_id == "INC-0002"
    assert second.created_incident
    assert [r.id for r in list_incidents(db, status=IncidentStatus.RESOLVED)] == ["INC-0001"]
    before = _counts(db)
    with pytest.raises(
        StoreError,
        match=SAME_FINGERPRINT,
    ):
        set_incident_status(db, incident_id=first.incident_id, status=IncidentStatus.INVESTIGATING, at=at, actor="bob")
    assert _counts(db) == before
    events = get_incident(db, first.incident_id).status_events
    assert (events[-1].status, events[-1].actor, events[-1].note) == (IncidentStatus.RESOLVED, "alice", "reverted")


def test_duplicate_evidence_in_one_call_rolls_back_everything(db: Database) -> None:
    before = _counts(db)
    with pytest.raises(StoreError, match=r"INC-0001: evidence id\(s\) given more than once: 'ev-1'"):
        _record(db, evidence=(_evidence("ev-1"), _evidence("ev-2"), _evidence("ev-1")), hypotheses=(_hypothesis("H1"),))
    assert _counts(db) == before
    assert _record(db, evidence=(_evidence("ev-1"),)).incident_id == "INC-0001"


def test_database_constraint_failure_rolls_back_added_investigation(db: Database) -> None:
    first = _record(db, evidence=(_evidence("ev-1"),), hypotheses=(_hypothesis("H1"),))
    before = _counts(db)
    with pytest.raises(
        StoreError,
        match=SAME_HYPOTHESIS,
    ):
        _record(db, evidence=(_evidence("ev-5"),), hypotheses=(_hypothesis("H1"), _hypothesis("H1")))
    assert _counts(db) == before
    assert len(get_incident(db, first.incident_id).investigations) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"evidence": (_evidence("ev-1", score=math.nan),)}, "score of evidence 'ev-1' is nan"),
        ({"evidence": (_evidence("ev-1", attributes={"ratio": math.inf}),)}, "Out of range float"),
        ({"hypotheses": (_hypothesis("H1", confidence=math.inf),)}, "confidence of hypothesis 'H1' is inf"),
        ({"brief": "{not json"}, "the brief is not valid JSON"),
    ],
)
def test_unstorable_values_are_refused_without_writing(db: Database, kwargs: dict[str, Any], message: str) -> None:
    before = _counts(db)
    with pytest.raises(StoreError, match=message):
        _record(db, **kwargs)
    assert _counts(db) == before


def test_unknown_incident_is_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError, match=rf"no incident 'INC-9999' in {re.escape(db.url)}"):
        get_incident(db, "INC-9999")
    with pytest.raises(NotFoundError):
        set_incident_status(db, incident_id="INC-9999", status=IncidentStatus.CLOSED, at=datetime.now(UTC), actor="x")
    with pytest.raises(NotFoundError, match="no investigation 42"):
        get_brief(db, investigation_id=42)
    assert issubclass(NotFoundError, StoreError)


def test_sqlite_connections_enforce_foreign_keys_in_wal_mode(db: Database) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas: PostgreSQL always enforces foreign keys")
    with db.session() as session:
        assert session.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
        assert session.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
    with pytest.raises(StoreError, match="FOREIGN KEY constraint failed"), db.session() as session:
        session.execute(
            sa.text(
                "INSERT INTO status_events (incident_id, status, at, actor, note) "
                "VALUES ('INC-404', 'opened', '2025-01-01 00:00:00', 'x', '')"
            )
        )


def test_naive_datetimes_are_refused(db: Database) -> None:
    _record(db)
    with pytest.raises(StoreError, match="naive datetime"):
        set_incident_status(
            db, incident_id="INC-0001", status=IncidentStatus.MITIGATED, at=datetime(2025, 1, 1), actor="x"
        )


def test_unopenable_database_is_a_store_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing-dir/x.db"
    with pytest.raises(
        StoreError, match=r"^cannot open database sqlite:///.*/missing-dir/x\.db: unable to open database file$"
    ):
        open_database(url)
    with pytest.raises(StoreError, match="not a database URL"):
        open_database("no url at all")
    with pytest.raises(StoreError, match="no driver for nosuchdb"):
        open_database("nosuchdb://localhost/x")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        # Without the `postgres` extra: an install hint, and the password never appears in the message.
        with pytest.raises(
            StoreError, match=r"postgresql\+psycopg \(install it with: pip install 'incidentlens\[postgres\]'\)"
        ) as info:
            open_database("postgresql://user:s3cret@localhost/incidents")
        assert "s3cret" not in str(info.value)


def test_workspace_directory_is_created(tmp_path: Path) -> None:
    with open_database(workspace=tmp_path / "a" / "b") as database:
        assert database.url == f"sqlite:///{tmp_path}/a/b/incidentlens.db"
    assert (tmp_path / "a" / "b" / "incidentlens.db").is_file()


def test_concurrent_writers_share_one_incident(database_url: str) -> None:
    url = database_url
    databases = [open_database(url) for _ in range(3)]
    errors: list[BaseException] = []

    def work(database: Database) -> None:
        try:
            for _ in range(4):
                _record(database, fingerprint="fp-race", evidence=(_evidence("ev-1"),))
        except BaseException as exc:  # re-raised in the main thread via the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(d,)) for d in databases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    [row] = list_incidents(databases[0])
    assert (row.id, row.investigation_count) == ("INC-0001", 12)
    assert len(get_incident(databases[0], row.id).evidence) == 1
    for d in databases:
        d.dispose()


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_ids = st.text(st.characters(categories=["Ll", "Nd"], include_characters="-_:."), min_size=1, max_size=24)
_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
_attr = st.one_of(_text, _finite, st.integers(min_value=-(2**63), max_value=2**63 - 1))
_ns = st.integers(min_value=0, max_value=4_000_000_000 * 10**9)


@st.composite
def _evidence_items(draw: st.DrawFn) -> tuple[Evidence, ...]:
    ids = draw(st.lists(_ids, unique=True, max_size=4))
    items = []
    for eid in ids:
        start = draw(st.none() | _ns)
        span = None if start is None else TimeRange(start, start + draw(st.integers(0, 10**12)))
        items.append(
            Evidence(
                id=eid,
                kind=draw(st.sampled_from(EvidenceKind)),
                service=draw(st.none() | _text),
                summary=draw(_text),
                excerpt=draw(_text),
                time_range=span,
                source_ref=draw(_text),
                score=draw(_finite),
                attributes=draw(st.dictionaries(_text, _attr, max_size=3)),
            )
        )
    return tuple(items)


_hypotheses = st.lists(
    st.builds(
        Hypothesis,
        id=_ids,
        claim=_text,
        service=_text,
        fault=st.sampled_from(FaultKind),
        confidence=_finite,
        supporting=st.lists(_ids, max_size=3).map(tuple),
        contradicting=st.lists(_ids, max_size=2).map(tuple),
        predictions=st.lists(st.builds(Prediction, _text, _text, _text), max_size=2).map(tuple),
        component=_text,
        status=st.sampled_from(HypothesisStatus),
        owners=st.lists(st.builds(Owner, _text, st.sampled_from(OwnerSource), _text, _text), max_size=2).map(tuple),
    ),
    max_size=3,
    unique_by=lambda h: h.id,
).map(tuple)


@pytest.fixture(scope="module")
def shared_db() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as tmp, open_database(workspace=Path(tmp)) as database:
        yield database


@settings(max_examples=40, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(evidence=_evidence_items(), hypotheses=_hypotheses, brief=st.dictionaries(_text, _text | _finite, max_size=3))
def test_records_round_trip_unchanged(
    shared_db: Database,
    evidence: tuple[Evidence, ...],
    hypotheses: tuple[Hypothesis, ...],
    brief: dict,  # type: ignore[type-arg]
) -> None:
    recorded = _record(
        shared_db, fingerprint="", evidence=evidence, hypotheses=hypotheses, brief=orjson.dumps(brief).decode()
    )
    detail = get_incident(shared_db, recorded.incident_id)
    assert sorted(detail.evidence, key=lambda e: e.id) == sorted(evidence, key=lambda e: e.id)
    assert tuple(h.hypothesis for h in detail.hypotheses) == hypotheses
    assert [h.rank for h in detail.hypotheses] == list(range(1, len(hypotheses) + 1))
    assert get_brief(shared_db, investigation_id=recorded.investigation_id) == brief


def test_readers_do_not_take_the_write_lock(db: Database) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite locking: PostgreSQL readers never block writers (MVCC)")
    begins: list[str] = []

    @sa.event.listens_for(db.engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    list_incidents(db)
    _record(db)
    assert begins == ["BEGIN DEFERRED", "BEGIN IMMEDIATE"]
    # A reader holding its snapshot does not stop another process from writing (WAL + deferred begin).
    with db.session(readonly=True) as session, open_database(db.engine.url.render_as_string(False)) as other:
        assert session.execute(sa.text("SELECT count(*) FROM incidents")).scalar_one() == 1
        _record(other, fingerprint="other")
        assert session.execute(sa.text("SELECT count(*) FROM incidents")).scalar_one() == 1
    assert len(list_incidents(db)) == 2
