"""One writer per server for alert intake: payloads that arrive together are accepted in one transaction.

Under a burst, a thread and a transaction per webhook spend most of their time on connection checkout,
round trips and thread hand-offs, not on the few rows each alert writes. The writer takes every payload
waiting when it is free (up to `MAX_BATCH_ALERTS` alerts), accepts them with one set-based
`accept_alerts`, and answers each request only after that transaction committed, so a 202 still means
recorded. A batch that fails (a full queue, a database error) is retried payload by payload, so each
request gets its own answer and one payload's refusal never refuses its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from incidentlens.store.database import Database
from incidentlens.web.errors import UnavailableError
from incidentlens.web.intake import AlertOutcome, ParsedAlert, accept_alerts

__all__ = ["MAX_BATCH_ALERTS", "IntakeWriter"]

_log = logging.getLogger(__name__)

# Bounds one transaction (and so the wait of the requests in it); a payload holds at most 1,000 alerts.
MAX_BATCH_ALERTS = 500
# SQLite: one writer for every app of the process. Concurrent SQLite writers would meet in the busy handler,
# whose back-off sleeps (not the work) dominate latency under load. PostgreSQL writers lock fingerprints
# instead, so replicas take alerts in parallel.
_SQLITE_INTAKE = threading.Lock()


@dataclass(slots=True)
class _Waiting:
    alerts: list[ParsedAlert]
    loop: asyncio.AbstractEventLoop
    answer: asyncio.Future[list[AlertOutcome]]


class IntakeWriter:
    """Accepts alert payloads on one writer thread, batching those that wait (module docstring)."""

    def __init__(self, db: Database, max_queued: Callable[[], int]) -> None:
        """`max_queued` reads the queue bound at write time, so a settings reload applies to the next batch."""
        self._db = db
        self._max_queued = max_queued
        self._serialise = _SQLITE_INTAKE if db.engine.dialect.name == "sqlite" else None
        self._waiting: list[_Waiting] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def backlog(self) -> int:
        """Payloads waiting for the writer (not counting the batch it is writing)."""
        with self._ready:
            return len(self._waiting)

    def close(self) -> None:
        """Let the writer thread end once every waiting payload is written (the app is stopping)."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=30)

    async def accept(self, alerts: list[ParsedAlert]) -> list[AlertOutcome]:
        """The outcomes of one payload's alerts, once they are committed (or the error that refused them)."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(alerts, loop, loop.create_future())
        with self._ready:
            if self._closed:
                raise UnavailableError("the server is stopping; nothing was recorded, retry", retry_after=5)
            self._waiting.append(waiting)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="incidentlens-intake", daemon=True)
                self._thread.start()
            self._ready.notify()
        return await waiting.answer

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                if not self._waiting:
                    return
                batch = self._take()
            self._write(batch)

    def _take(self) -> list[_Waiting]:
        """The oldest waiting payloads up to the batch bound (always at least one)."""
        size, n = 0, 0
        for waiting in self._waiting:
            if n and size + len(waiting.alerts) > MAX_BATCH_ALERTS:
                break
            size += len(waiting.alerts)
            n += 1
        batch, self._waiting = self._waiting[:n], self._waiting[n:]
        return batch

    def _write(self, batch: list[_Waiting]) -> None:
        if len(batch) > 1:
            try:
                outcomes = self._accept([a for waiting in batch for a in waiting.alerts])
            except Exception as exc:  # retried one by one below: each payload gets its own answer
                _log.debug("intake batch of %d payloads failed, retrying one by one: %s", len(batch), exc)
            else:
                start = 0
                for waiting in batch:
                    _answer(waiting, outcomes[start : start + len(waiting.alerts)])
                    start += len(waiting.alerts)
                return
        for waiting in batch:
            try:
                _answer(waiting, self._accept(waiting.alerts))
            except Exception as exc:  # the request raises it (mapped to a problem response there)
                _answer(waiting, exc)

    def _accept(self, alerts: list[ParsedAlert]) -> list[AlertOutcome]:
        if self._serialise is None:
            return accept_alerts(self._db, alerts=alerts, max_queued=self._max_queued())
        with self._serialise:
            return accept_alerts(self._db, alerts=alerts, max_queued=self._max_queued())


def _answer(waiting: _Waiting, result: list[AlertOutcome] | BaseException) -> None:
    def settle() -> None:
        if waiting.answer.done():  # the request went away (client disconnected, server stopping)
            return
        if isinstance(result, BaseException):
            waiting.answer.set_exception(result)
        else:
            waiting.answer.set_result(result)

    try:
        waiting.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the event loop closed meanwhile: nobody is waiting for this answer
        _log.debug("intake answer dropped: its event loop is closed")
