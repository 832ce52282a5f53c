"""The store an investigation works in: in memory for ordinary inputs, on disk with a memory limit for big ones.

Files too big for memory (over `BIG_INPUT_BYTES` in all) go to a DuckDB file in a temporary folder that is
removed afterwards; DuckDB keeps at most `BIG_INPUT_MEMORY_LIMIT` of it in memory and spills sorts, joins and
aggregations beside it. The same queries run either way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from incidentlens.investigation.request import InvestigationRequest
from incidentlens.telemetry.store import TelemetryStore

BIG_INPUT_BYTES = 512 << 20
BIG_INPUT_MEMORY_LIMIT = "1GB"


def local_input_bytes(request: InvestigationRequest) -> int:
    """Bytes of the files the request's local sources will read (folders walked; unreadable entries count 0)."""
    total = 0
    for source in request.sources:
        if source.live:
            continue
        for path in getattr(source, "paths", ()):
            path = Path(path)
            files = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
            total += sum(f.stat().st_size for f in files if f.is_file())
    return total


@contextmanager
def private_store(request: InvestigationRequest) -> Iterator[TelemetryStore]:
    """An in-memory store, or an on-disk one when the inputs are big or the request sets a memory limit."""
    big = local_input_bytes(request) >= BIG_INPUT_BYTES
    if not big and not request.memory_limit:
        with TelemetryStore() as store:
            yield store
        return
    if request.store_dir is not None:
        request.store_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="incidentlens-store-", dir=request.store_dir) as folder:
        limit = request.memory_limit or BIG_INPUT_MEMORY_LIMIT
        path, spill = Path(folder) / "telemetry.duckdb", Path(folder) / "spill"
        with TelemetryStore(path, memory_limit=limit, spill_dir=spill, disposable=True) as store:
            yield store
