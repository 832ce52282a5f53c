"""`incident`, `hypothesis`, `audit` and `metrics` through the CLI runner, against a real SQLite workspace."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from incidentlens.cli.app import app
from incidentlens.cli.main import main  # noqa: F401 - registers every command
from incidentlens.model.enums import FaultKind, HypothesisStatus, Severity
from incidentlens.model.records import Hypothesis
from incidentlens.store.database import open_database
from incidentlens.workflow.investigations import record_investigation

runner = CliRunner()
CONFIG = """
users:
  alice: {roles: [responder]}
  bob: {roles: [approver]}
  carol: {roles: [viewer]}
  root: {roles: [admin]}
default_user: alice
"""


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with settings and one recorded incident (INC-0001) with hypotheses H1 and H2."""
    monkeypatch.delenv("INCIDENTLENS_CONFIG", raising=False)
    monkeypatch.delenv("INCIDENTLENS_DATABASE_URL", raising=False)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "config.yaml").write_text(CONFIG, encoding="utf-8")
    detected = datetime.now(UTC) - timedelta(minutes=30)
    hypotheses = tuple(
        Hypothesis(
            id=hid,
            claim=f"{service} broke",
            service=service,
            fault=FaultKind.CODE,
            confidence=0.6,
            supporting=("ev-1",),
            status=HypothesisStatus.SUPPORTED,
        )
        for hid, service in (("H1", "payment"), ("H2", "db"))
    )
    db = open_database(workspace=workspace)
    try:
        record_investigation(
            db,
            title="checkout errors",
            service="checkout",
            severity=Severity.HIGH,
            detected_ns=int(detected.timestamp() * 1e9),
            alert_fingerprint="fp",
            evidence=(),
            hypotheses=hypotheses,
            brief_json="{}",
            workspace=str(workspace),
            inputs={},
        )
    finally:
        db.dispose()
    return workspace


def run(ws: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--workspace", str(ws), *args])
    return result.exit_code, result.stdout, result.stderr


def test_responder_walks_an_incident_through_its_lifecycle(ws: Path) -> None:
    assert run(ws, "incident", "ack", "INC-0001")[0] == 0  # default_user alice
    code, _, err = run(ws, "incident", "assign", "INC-0001", "bobb")  # a typo must not page nobody
    assert code == 2 and "unknown user 'bobb'" in err and "alice" in err and "@team" in err
    code, out, _ = run(ws, "incident", "assign", "INC-0001", "@team-payments", "--note", "CODEOWNERS")
    assert code == 0 and "assigned to @team-payments by alice" in out
    code, out, _ = run(ws, "incident", "assign", "INC-0001", "@team-db", "--as", "root")
    assert code == 0 and "was @team-payments; reassignments 1" in out
    assert run(ws, "incident", "own", "INC-0001")[0] == 0
    code, _, err = run(ws, "hypothesis", "refute", "INC-0001", "H2")
    assert code == 2 and "needs a comment" in err
    assert run(ws, "hypothesis", "refute", "INC-0001", "H2", "--comment", "db latency flat")[0] == 0
    code, out, _ = run(ws, "hypothesis", "confirm", "INC-0001", "H1", "--comment", "stack trace matches")
    assert code == 0 and "INC-0001 is now understood" in out
    assert run(ws, "incident", "mitigate", "INC-0001", "--note", "rolled back")[0] == 0
    assert run(ws, "incident", "resolve", "INC-0001")[0] == 0
    code, out, _ = run(ws, "incident", "close", "INC-0001")
    assert code == 0 and "status now closed" in out

    code, out, _ = run(ws, "incident", "show", "INC-0001", "--json")
    shown = orjson.loads(out)
    assert code == 0 and shown["status"] == "closed" and shown["owner"] == "@team-db" and shown["reassignments"] == 1
    assert [e["status"] for e in shown["status_history"]][-6:] == [
        "acknowledged", "owned", "understood", "mitigated", "resolved", "closed",
    ]  # fmt: skip
    hyps = {h["id"]: h for h in shown["hypotheses"]}
    assert hyps["H2"]["status"] == "refuted" and hyps["H2"]["decisions"][0]["comment"] == "db latency flat"
    assert hyps["H1"]["status"] == "confirmed" and hyps["H1"]["decisions"][0]["actor"] == "alice"
    assert all(shown["metrics"][m] is not None for m in ("mtta", "mttu", "mtto", "mttm", "mttr"))

    code, out, _ = run(ws, "incident", "show", "INC-0001")
    assert code == 0 and "refuted by alice: db latency" in out and "MTTU 30m" in out and "@team-db" in out
    code, out, _ = run(ws, "incident", "list", "--json")
    assert code == 0 and orjson.loads(out)[0]["status"] == "closed"

    code, out, _ = run(ws, "metrics", "--json")
    data = orjson.loads(out)
    assert code == 0 and data["aggregates"]["incidents"] == 1 and data["aggregates"]["mttu"]["count"] == 1
    assert data["aggregates"]["reassignments"]["total"] == 1 and data["open"] == []
    code, out, _ = run(ws, "metrics", "--since", "2999-01-01")
    assert code == 0 and "0 resolved or closed incident(s)" in out

    code, out, _ = run(ws, "audit", "verify")
    assert code == 0 and "audit chain OK: 12 entries" in out
    code, out, _ = run(ws, "audit", "show", "INC-0001", "--json")
    trail = orjson.loads(out)
    assert [e["action"] for e in trail][:4] == ["open", "record", "ack", "assign"]
    assert trail[3]["data"]["note"] == "CODEOWNERS" and trail[4]["action"] == "reassign"
    assert trail[4]["actor"] == "root"
    code, out, _ = run(ws, "audit", "show", "INC-0001")
    assert code == 0 and "reassign" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["incident", "ack", "INC-0001", "--as", "carol"], 6, "'carol' needs the role responder or admin"),
        (["incident", "resolve", "INC-0001", "--as", "bob"], 6, "'bob' needs the role responder or admin"),
        (["hypothesis", "confirm", "INC-0001", "H1", "--as", "carol"], 6, "needs the role"),
        (["incident", "ack", "INC-0001", "--as", "mallory"], 2, "unknown user 'mallory'"),
        (["incident", "close", "INC-0001"], 2, "resolve it first"),
        (["incident", "ack", "INC-0404"], 3, "no incident 'INC-0404'"),
        (["hypothesis", "confirm", "INC-0001", "H9"], 3, "no hypothesis 'H9'"),
        (["metrics", "--since", "yesterday"], 2, "not a date"),
        (["audit", "show"], 2, "give an incident id or --all"),
    ],
)
def test_refusals_are_clear_and_change_nothing(ws: Path, args: list[str], code: int, message: str) -> None:
    got, _, err = run(ws, *args)
    assert got == code, err
    assert message in err and "Traceback" not in err
    _, out, _ = run(ws, "audit", "show", "--all", "--json")
    assert [e["action"] for e in orjson.loads(out)] == ["open", "record"]


def test_viewers_can_read(ws: Path) -> None:
    for args in (["incident", "list"], ["incident", "show", "INC-0001"], ["metrics"], ["audit", "verify"]):
        assert run(ws, *args)[0] == 0, args


def test_without_users_mutations_explain_how_to_configure(ws: Path, tmp_path: Path) -> None:
    (ws / "config.yaml").unlink()
    code, _, err = run(ws, "incident", "ack", "INC-0001")
    assert code == 2 and "no users are configured" in err and "default_user" in err
    other = tmp_path / "team.yaml"
    other.write_text("users: {dana: {roles: [responder]}}", encoding="utf-8")
    code, out, _ = run(ws, "incident", "ack", "INC-0001", "--as", "dana", "--config", str(other))
    assert code == 0 and "done by dana" in out


def test_audit_verify_fails_naming_the_seq_after_tampering(ws: Path) -> None:
    assert run(ws, "incident", "ack", "INC-0001")[0] == 0
    code, out, _ = run(ws, "audit", "verify", "--json")
    head = orjson.loads(out)["head_hash"]
    assert code == 0 and run(ws, "audit", "verify", "--expect-head", head)[0] == 0
    connection = sqlite3.connect(ws / "incidentlens.db")
    connection.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    connection.commit()
    connection.close()
    code, _, err = run(ws, "audit", "verify")
    assert code == 7 and "audit chain broken at seq 3" in err and "modified" in err


def test_metrics_help_defines_every_metric() -> None:
    result = runner.invoke(app, ["metrics", "--help"])
    assert result.exit_code == 0
    for name in ("MTTA", "MTTU", "MTTO", "MTTM", "MTTR", "Reassignments", "open incidents"):
        assert name in result.stdout
