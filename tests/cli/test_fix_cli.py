"""The fix commands' edges: clear messages and exit codes, no tracebacks, for user mistakes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from incidentlens.cli.main import app
from incidentlens.model.enums import FaultKind, FixKind, RiskLevel, Severity
from incidentlens.model.records import FixProposal, Hypothesis
from incidentlens.store import fixes_repository as fixes
from incidentlens.store.database import open_database
from incidentlens.workflow.investigations import record_investigation

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    db = open_database(workspace=tmp_path)
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
            workspace=str(tmp_path),
            inputs={},
            now=T0,
        )
        with db.session() as session:
            inv = session.execute(sa.text("SELECT max(id) FROM investigations")).scalar_one()
            fixes.insert_proposals(
                session,
                incident_id="INC-0001",
                investigation_id=inv,
                proposals=[
                    FixProposal(
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
                ],
                now=T0,
            )
    finally:
        db.dispose()
    (tmp_path / "config.yaml").write_text(
        "users: {vic: {roles: [viewer]}, rita: {roles: [responder]}, alice: {roles: [approver]}}\n"
    )
    return tmp_path


def invoke(ws: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--workspace", str(ws), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_list_and_show_an_action_spec(ws: Path) -> None:
    code, text = invoke(ws, "fix", "list", "INC-0001")
    assert code == 0 and "INC-0001-F1" in text and "operation" in text
    code, text = invoke(ws, "fix", "show", "INC-0001-F1")
    assert code == 0 and "SUGGESTION INC-0001-F1" in text and "'action': 'scale'" in text


def test_user_mistakes_map_to_exit_codes(ws: Path) -> None:
    assert invoke(ws, "fix", "show", "INC-0001-F9")[0] == 3  # not found in the store
    code, text = invoke(ws, "fix", "approve", "INC-0001-F1", "--as", "vic")
    assert code == 6 and "vic" in text
    code, text = invoke(ws, "fix", "approve", "INC-0001-F1", "--as", "rita")
    assert code == 6 and "allows role approver" in text
    code, text = invoke(ws, "fix", "execute", "INC-0001-F1", "--executor", "command", "--as", "rita")
    assert code == 5 and "only a validated proposal" in text
    assert invoke(ws, "fix", "validate", "INC-0001-F1", "--as", "rita")[0] == 0
    invoke(ws, "fix", "approve", "INC-0001-F1", "--as", "alice")
    code, text = invoke(ws, "fix", "execute", "INC-0001-F1", "--executor", "command", "--as", "rita")
    assert code == 5 and "command executor is disabled" in text
    code, text = invoke(ws, "fix", "execute", "INC-0001-F1", "--executor", "ssh", "--as", "rita")
    assert code == 2 and "unknown executor" in text
    (ws / "config.yaml").write_text("users: {rita: {roles: [responder]}}\npolicy: missing.yaml\n")
    code, text = invoke(ws, "fix", "approve", "INC-0001-F1", "--as", "rita")
    assert code == 2 and "missing.yaml" in text
    code, text = invoke(ws, "verify-fix", "INC-0001-F1", "--telemetry", str(ws), "--as", "rita")
    assert code == 2 and "only an executed fix" in text
