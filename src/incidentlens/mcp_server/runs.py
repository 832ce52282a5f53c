"""Investigations the server ran without recording: kept in memory (the last few) so their evidence can be
fetched by id and their symptoms looked up in the memory, like a recorded incident's."""

from __future__ import annotations

import threading
from collections import OrderedDict

from incidentlens.investigation import InvestigationResult
from incidentlens.store.errors import NotFoundError

__all__ = ["MAX_RUNS", "RunCache"]

MAX_RUNS = 8  # results hold evidence and a brief, not telemetry: a few megabytes at most


class RunCache:
    """`RUN-n` -> result, oldest dropped first; safe to use from the worker threads tools run in."""

    def __init__(self, capacity: int = MAX_RUNS) -> None:
        self._capacity = capacity
        self._runs: OrderedDict[str, InvestigationResult] = OrderedDict()
        self._counter = 0
        self._lock = threading.Lock()

    def add(self, result: InvestigationResult) -> str:
        with self._lock:
            self._counter += 1
            run_id = f"RUN-{self._counter}"
            self._runs[run_id] = result
            while len(self._runs) > self._capacity:
                self._runs.popitem(last=False)
            return run_id

    def get(self, run_id: str) -> InvestigationResult:
        with self._lock:
            result = self._runs.get(run_id)
            kept = ", ".join(self._runs) or "none"
        if result is None:
            raise NotFoundError(
                f"no investigation run {run_id!r} in this server (kept: {kept}; the last {self._capacity} are kept "
                "until the server stops; record one to keep it)"
            )
        return result
