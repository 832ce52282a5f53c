"""kill -9 during `incidentlens ingest`: the telemetry store keeps every earlier ingest and gains all of the
killed one or none of it; the next `ingest` on the same workspace works."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
from tests.faults.helpers import cli, run_to

from incidentlens.telemetry.store import TELEMETRY_FILE, TelemetryStore


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "b"
    code, text = cli(
        out.parent,
        "simulate",
        "--fault",
        "cpu_saturation",
        "--seed",
        "3",
        "--scale",
        "0.1",
        "--trace-sample",
        "0.2",
        "--out",
        str(out),
    )
    assert code == 0, text
    shutil.rmtree(out / "repo")
    return out


def _counts(ws: Path) -> dict[str, int]:
    with TelemetryStore(ws / TELEMETRY_FILE) as store:
        return store.counts()


def _times(counts: dict[str, int], n: int) -> dict[str, int]:
    return {table: rows * n for table, rows in counts.items()}


def test_kill_during_ingest_keeps_the_store_all_or_nothing(bundle: Path, tmp_path: Path) -> None:
    first = tmp_path / "first"
    code, calls, err = run_to("none", first, "ingest", str(bundle))
    assert code == 0, err
    once = _counts(first)
    assert sum(once.values()) > 1000
    total = calls["duckdb"]  # BEGIN, one INSERT per table, COMMIT, close
    assert total >= 4, calls
    for point in sorted({1, 2, total // 2, total - 1, total}):
        ws = tmp_path / f"killed-at-{point}"
        ws.mkdir()
        shutil.copy(first / TELEMETRY_FILE, ws / TELEMETRY_FILE)  # a workspace holding one earlier ingest
        code, reached, err = run_to(f"duckdb:{point}", ws, "ingest", str(bundle))
        assert code == -signal.SIGKILL, (point, code, err)
        assert reached["duckdb"] == point
        after = _counts(ws)
        assert after in (once, _times(once, 2)), (point, after)  # all of the killed ingest or none of it
        # The restart: the same command on the same workspace runs to its end.
        code, text = cli(ws, "ingest", str(bundle))
        assert code == 0, text
        assert _counts(ws) == _times(once, 3 if after != once else 2)
    # The last call (closing) comes after COMMIT: that ingest is whole; the first ones are before it: nothing.
    assert _counts(tmp_path / f"killed-at-{total}") == _times(once, 3)
    assert _counts(tmp_path / "killed-at-1") == _times(once, 2)
