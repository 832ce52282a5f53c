"""kill -9 during an approval (`fix approve`) and during an audit write (`incident ack`): the decision and its
audit entry are written together or not at all, the chain verifies, and the command works after the restart."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
from tests.faults.helpers import audit_verifies, cli, prepare_fix_workspace, rows, run_to, spread, workflow_consistent


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one incident and one validated fix proposal, copied for each kill."""
    return prepare_fix_workspace(tmp_path_factory.mktemp("prepared"))


def _copy(prepared: Path, to: Path) -> Path:
    shutil.copytree(prepared, to)
    return to


def _audit_actions(ws: Path) -> list[str]:
    return [str(a) for (a,) in rows(ws, "SELECT action FROM audit_log ORDER BY seq")]


def _kill_points(prepared: Path, tmp_path: Path, *args: str) -> list[str]:
    code, calls, err = run_to("none", _copy(prepared, tmp_path / "probe"), *args)
    assert code == 0, err
    return [f"sql:{n}" for n in spread(calls["sql"], 4)] + [f"commit:{n}" for n in range(1, calls["commit"] + 1)]


def test_kill_during_approval(prepared: Path, tmp_path: Path) -> None:
    args = ("fix", "approve", "INC-0001-F1", "--as", "alice")
    audit_before = _audit_actions(prepared)
    for point in _kill_points(prepared, tmp_path, *args):
        ws = _copy(prepared, tmp_path / point.replace(":", "-"))
        code, _reached, err = run_to(point, ws, *args)
        assert code == -signal.SIGKILL, (point, code, err)
        workflow_consistent(ws)
        decisions = rows(ws, "SELECT count(*) FROM fix_decisions WHERE actor = 'alice'")[0][0]
        added = _audit_actions(ws)[len(audit_before) :]
        assert decisions in (0, 1), point
        assert bool(decisions) == bool(added), (point, decisions, added)  # the decision and its audit, or neither
        code, text = cli(ws, "fix", "approve", "INC-0001-F1", "--as", "alice")  # the restart
        assert code == 0, (point, text)
        audit_verifies(ws)
        assert rows(ws, "SELECT count(*) FROM fix_decisions WHERE actor = 'alice'") == [(1,)], point


def test_kill_during_an_audit_write(prepared: Path, tmp_path: Path) -> None:
    args = ("incident", "ack", "INC-0001", "--as", "rita")
    audit_before = _audit_actions(prepared)
    for point in _kill_points(prepared, tmp_path, *args):
        ws = _copy(prepared, tmp_path / point.replace(":", "-"))
        code, _reached, err = run_to(point, ws, *args)
        assert code == -signal.SIGKILL, (point, code, err)
        workflow_consistent(ws)
        assert _audit_actions(ws)[: len(audit_before)] == audit_before, point  # nothing earlier lost
        acked = rows(ws, "SELECT count(*) FROM status_events WHERE status = 'acknowledged'")[0][0]
        assert bool(acked) == (len(_audit_actions(ws)) > len(audit_before)), point
        code, text = cli(ws, "incident", "ack", "INC-0001", "--as", "rita")  # the restart
        assert code in (0, 2), (point, text)  # acknowledging twice is refused clearly, not a crash
        audit_verifies(ws)
        assert rows(ws, "SELECT count(*) FROM status_events WHERE status = 'acknowledged'") == [(1,)], point
