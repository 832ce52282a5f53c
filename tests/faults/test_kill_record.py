"""kill -9 during `incidentlens investigate --record`: no half-written incident, the audit chain verifies, and the
same command on the same workspace records afterwards."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
from tests.faults.helpers import cli, rows, run_to, spread, workflow_consistent


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


def _investigations(ws: Path) -> int:
    if not (ws / "incidentlens.db").exists():
        return 0
    try:
        return int(rows(ws, "SELECT count(*) FROM investigations")[0][0])  # type: ignore[call-overload]
    except Exception as exc:  # the schema itself may not be there yet when killed during migration
        assert "no such table" in str(exc), exc
        return 0


def test_kill_during_investigate_record_leaves_no_half_written_incident(bundle: Path, tmp_path: Path) -> None:
    args = ("investigate", str(bundle), "--record", "--no-memory", "--format", "json")
    probe, ws = tmp_path / "probe", tmp_path / "ws"
    for workspace in (probe, ws):
        assert cli(workspace, "incident", "list")[0] == 0  # the database exists: every run takes the same steps
    code, calls, err = run_to("none", probe, *args)
    assert code == 0, err
    workflow_consistent(probe)
    points = [f"sql:{n}" for n in spread(calls["sql"], 3)] + [f"commit:{n}" for n in range(1, calls["commit"] + 1)]
    for point in points:  # one workspace, killed again and again, as a crashing host would
        before = _investigations(ws)
        code, _reached, err = run_to(point, ws, *args)
        assert code == -signal.SIGKILL, (point, code, err)
        workflow_consistent(ws)
        assert _investigations(ws) == before, point  # killed before its commit: nothing of it is kept
    code, _reached, err = run_to("none", ws, *args)  # the restart
    assert code == 0, err
    workflow_consistent(ws)
    assert _investigations(ws) == 1
    assert rows(ws, "SELECT count(*) FROM incidents") == [(1,)]


def test_kill_while_the_database_is_first_created_then_restart(bundle: Path, tmp_path: Path) -> None:
    """The first run creates the database (migrations): killed there, the next run still creates and records."""
    args = ("investigate", str(bundle), "--record", "--no-memory", "--format", "json")
    for point in ("sql:3", "commit:1"):
        ws = tmp_path / point.replace(":", "-")
        code, _reached, err = run_to(point, ws, *args)
        assert code == -signal.SIGKILL, (point, code, err)
        code, _reached, err = run_to("none", ws, *args)
        assert code == 0, (point, err)
        workflow_consistent(ws)
        assert _investigations(ws) == 1
