"""Run the real `incidentlens` CLI and kill -9 it at an exact point of its store writes.

    python tests/faults/killpoint.py POINT COUNTS_FILE -- [incidentlens arguments]

POINT is `sql:N` (SIGKILL just before the Nth SQL statement the workflow database executes), `commit:N` (just
before its Nth commit), `duckdb:N` (just before the Nth call on the telemetry store's DuckDB connection), or
`none` (run to the end). Every run writes the numbers of statements, commits and DuckDB calls it reached to
COUNTS_FILE, so a first `none` run tells a test which points exist. The kill is the process signalling itself
with SIGKILL: nothing in the process (no `finally`, no atexit, no rollback) runs after it, exactly as with
`kill -9` from outside, but at a point a timer could not hit reliably.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

COUNTS = {"sql": 0, "commit": 0, "duckdb": 0}


def _arm(point: str, counts_file: Path) -> None:
    kind, _, number = point.partition(":")
    at = int(number) if number else 0

    def reached(what: str) -> None:
        COUNTS[what] += 1
        counts_file.write_text(json.dumps(COUNTS))
        if what == kind and COUNTS[what] == at:
            os.kill(os.getpid(), signal.SIGKILL)

    import sqlalchemy as sa
    from sqlalchemy import event

    def before_execute(*args: Any, **kwargs: Any) -> None:
        reached("sql")

    def before_commit(*args: Any, **kwargs: Any) -> None:
        reached("commit")

    event.listen(sa.engine.Engine, "before_cursor_execute", before_execute)
    event.listen(sa.engine.Engine, "commit", before_commit)

    from incidentlens.telemetry import store as telemetry_store

    class CountingConnection:
        """The DuckDB connection, with every call counted (and the Nth one killed) on its way in."""

        def __init__(self, con: Any) -> None:
            self._con = con

        def __getattr__(self, name: str) -> Any:
            value = getattr(self._con, name)
            if not callable(value):
                return value

            def call(*args: Any, **kwargs: Any) -> Any:
                reached("duckdb")
                # DuckDB finds a data frame by its name in the calling frame: the store names its batch `batch`.
                batch = sys._getframe(1).f_locals.get("batch")  # noqa: F841
                return value(*args, **kwargs)

            return call

    original_init = telemetry_store.TelemetryStore.__init__

    def init(self: Any, path: Path | None = None) -> None:
        original_init(self, path)
        self._con = CountingConnection(self._con)

    telemetry_store.TelemetryStore.__init__ = init  # type: ignore[method-assign]
    counts_file.write_text(json.dumps(COUNTS))


def main() -> None:
    point, counts_file, dashes, *argv = sys.argv[1:]
    assert dashes == "--", "usage: killpoint.py POINT COUNTS_FILE -- ARGS"
    _arm(point, Path(counts_file))
    from incidentlens.cli.main import main as cli_main

    sys.argv = ["incidentlens", *argv]
    cli_main()


if __name__ == "__main__":
    main()
