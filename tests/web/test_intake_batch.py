"""The alert writer: payloads that wait together are written in one transaction and answered one by one, and a
payload the queue refuses is refused alone, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from incidentlens.store.database import Database, open_database
from incidentlens.web import intake_batch
from incidentlens.web.errors import QueueFullError, UnavailableError
from incidentlens.web.intake import AlertOutcome, ParsedAlert, accept_alerts, parse_payload
from incidentlens.web.intake_batch import IntakeWriter


def _payload(fingerprint: str) -> list[ParsedAlert]:
    alert = {"status": "firing", "labels": {"alertname": fingerprint}, "startsAt": "2026-01-01T00:00:00Z"}
    alerts, problems = parse_payload("alertmanager", {"alerts": [{**alert, "fingerprint": fingerprint}]})
    assert not problems
    return alerts


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    yield database
    database.dispose()


class Gate:
    """Counts the writer's transactions (their alert counts); the first waits until `open()`."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self._open = threading.Event()

    def accept(self, db: Database, *, alerts: list[ParsedAlert], max_queued: int) -> list[AlertOutcome]:
        self.calls.append(len(alerts))
        if len(self.calls) == 1:
            assert self._open.wait(30)
        return accept_alerts(db, alerts=alerts, max_queued=max_queued)

    def open(self) -> None:
        self._open.set()


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


async def _behind_a_held_write(
    writer: IntakeWriter, gate: Gate, fingerprints: list[str]
) -> list[list[AlertOutcome] | BaseException]:
    """Payload `first` is being written (held by the gate) while the others arrive; then the gate opens."""
    first = asyncio.create_task(writer.accept(_payload("first")))
    await _until(lambda: gate.calls == [1] and writer.backlog == 0)
    waiting = [asyncio.create_task(writer.accept(_payload(fp))) for fp in fingerprints]
    await _until(lambda: writer.backlog == len(fingerprints))
    gate.open()
    await first
    return await asyncio.gather(*waiting, return_exceptions=True)


def test_waiting_payloads_share_one_transaction_and_each_gets_its_outcomes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate()
    monkeypatch.setattr(intake_batch, "accept_alerts", gate.accept)
    writer = IntakeWriter(db, lambda: 10)
    try:
        results = asyncio.run(_behind_a_held_write(writer, gate, ["b", "c", "first", "b"]))
    finally:
        writer.close()
    assert gate.calls == [1, 4]
    b1, c, again, b2 = (r[0] for r in results if isinstance(r, list))
    assert (b1.action, c.action, again.action, b2.action) == ("opened", "opened", "updated", "updated")
    assert again.coalesced and b2.coalesced and not b1.coalesced
    assert b2.incident_id == b1.incident_id and b2.job_id == b1.job_id and c.incident_id != b1.incident_id


def test_a_payload_the_queue_refuses_is_refused_alone(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = Gate()
    monkeypatch.setattr(intake_batch, "accept_alerts", gate.accept)
    writer = IntakeWriter(db, lambda: 2)
    try:
        # `first` queues the first job; of b and c, which need a job each, only one fits.
        results = asyncio.run(_behind_a_held_write(writer, gate, ["first", "b", "c"]))
    finally:
        writer.close()
    assert gate.calls == [1, 3, 1, 1, 1]  # the batch could not be written whole: one payload at a time
    again, b, c = results
    assert isinstance(again, list) and again[0].coalesced and again[0].action == "updated"
    assert isinstance(b, list) and b[0].action == "opened"
    assert isinstance(c, QueueFullError) and "nothing was recorded" in str(c)


def test_a_closed_writer_takes_nothing(db: Database) -> None:
    writer = IntakeWriter(db, lambda: 10)
    writer.close()
    with pytest.raises(UnavailableError, match="server is stopping"):
        asyncio.run(writer.accept(_payload("late")))
