"""Helpers for the kill -9 tests: run the CLI to a kill point in a real process, then check the stores."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from incidentlens.cli.main import app
from incidentlens.model.enums import FaultKind, FixKind, RiskLevel, Severity
from incidentlens.model.records import FixProposal, Hypothesis
from incidentlens.store import fixes_repository as fixes
from incidentlens.store.database import open_database
from incidentlens.workflow.investigations import record_investigation

ROOT = Path(__file__).resolve().parents[2]
KILLPOINT = Path(__file__).with_name("killpoint.py")
runner = CliRunner()
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def run_to(point: str, ws: Path, *args: str, timeout: float = 240) -> tuple[int, dict[str, int], str]:
    """Run `incidentlens --workspace WS ARGS` in a fresh process killed at `point`: (exit code, counts, stderr)."""
    counts = ws.parent / f"counts-{os.getpid()}.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, str(KILLPOINT), point, str(counts), "--", "--workspace", str(ws), *args],
        capture_output=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    return done.returncode, json.loads(counts.read_text()), done.stderr.decode(errors="replace")


def spread(total: int, points: int) -> list[int]:
    """`points` kill points from 1 to `total`, evenly apart, always with the first and the last."""
    if total <= points:
        return list(range(1, total + 1))
    return sorted({1, total, *(1 + round(i * (total - 1) / (points - 1)) for i in range(points))})


def cli(ws: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--workspace", str(ws), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def audit_verifies(ws: Path) -> None:
    code, text = cli(ws, "audit", "verify")
    assert code == 0, text


def rows(ws: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the workflow database as a fresh process would after the crash (WAL recovery included)."""
    with sqlite3.connect(ws / "incidentlens.db") as con:
        return con.execute(sql).fetchall()


def workflow_consistent(ws: Path) -> None:
    """No half-written incident: each one has its investigation, hypotheses, status events and audit entries."""
    audit_verifies(ws)
    assert rows(ws, "PRAGMA integrity_check") == [("ok",)]
    assert rows(ws, "PRAGMA foreign_key_check") == []
    lonely = rows(
        ws,
        "SELECT id FROM incidents i WHERE NOT EXISTS (SELECT 1 FROM investigations v WHERE v.incident_id = i.id)"
        " OR NOT EXISTS (SELECT 1 FROM status_events s WHERE s.incident_id = i.id)"
        " OR NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.incident_id = i.id)",
    )
    assert lonely == [], f"half-written incidents: {lonely}"
    empty = rows(
        ws,
        "SELECT v.id FROM investigations v WHERE NOT EXISTS (SELECT 1 FROM hypotheses h WHERE h.investigation_id"
        " = v.id) AND json_array_length(json_extract(v.brief, '$.hypotheses')) > 0",
    )
    assert empty == [], f"investigations without their hypotheses: {empty}"


def prepare_fix_workspace(ws: Path) -> Path:
    """A workspace with one recorded incident and one validated fix proposal (users rita and alice)."""
    db = open_database(workspace=ws)
    try:
        record_investigation(
            db,
            title="cart errors",
            service="cart",
            severity=Severity.HIGH,
            detected_ns=int(T0.timestamp()) * 1_000_000_000,
            alert_fingerprint="fp",
            evidence=[],
            hypotheses=[Hypothesis("hyp-1", "cart is slow", "cart", FaultKind.CPU, 0.7, ("ev-1",))],
            brief_json="{}",
            workspace=str(ws),
            inputs={},
            now=T0,
        )
        with db.session() as session:
            inv = session.execute(sa.text("SELECT max(id) FROM investigations")).scalar_one()
            proposal = FixProposal(
                "d",
                "hyp-1",
                FixKind.OPERATION,
                "scale out cart",
                "CPU saturated",
                RiskLevel.LOW,
                ("ev-1",),
                action={"action": "scale", "service": "cart"},
                service="cart",
            )
            fixes.insert_proposals(session, incident_id="INC-0001", investigation_id=inv, proposals=[proposal], now=T0)
    finally:
        db.dispose()
    (ws / "config.yaml").write_text("users: {rita: {roles: [responder]}, alice: {roles: [approver]}}\n")
    code, text = cli(ws, "fix", "validate", "INC-0001-F1", "--as", "rita")
    assert code == 0, text
    return ws
