"""git_branch pushing to a real (bare) remote, github_pr against a local HTTP server speaking the REST
API, and the command executor's allow-list; each run only through the gate, each recorded."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from incidentlens.errors import ConfigError, PolicyError, RepositoryError
from incidentlens.model.approval import DecisionKind, FixStatus
from incidentlens.model.enums import FaultKind, FixKind, RiskLevel, Severity
from incidentlens.model.records import FixProposal, Hypothesis
from incidentlens.propose.diffs import unified_diff
from incidentlens.store import fixes_repository as fixes
from incidentlens.store.database import Database, open_database
from incidentlens.workflow.config import Settings, parse_settings
from incidentlens.workflow.executors import execute_fix
from incidentlens.workflow.gate import GateContext, decide, issue_approval
from incidentlens.workflow.investigations import record_investigation
from incidentlens.workflow.policy import parse_policy
from incidentlens.workflow.validate import validate_fix

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
BEFORE = "TIMEOUT_MS = 5\n"
AFTER = "TIMEOUT_MS = 2000\n"
CTX = GateContext(policy=parse_policy("approval_ttl: 1h\n"), production=False)


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd.parent), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


class GitHub(BaseHTTPRequestHandler):
    """The one endpoint the executor uses: POST /repos/{owner}/{repo}/pulls, checked like GitHub does."""

    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        GitHub.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.headers.get("Authorization") != "Bearer t0ken":
            self._send(401, {"message": "Bad credentials"})
        elif self.path != "/repos/shop/storefront/pulls" or not body.get("head") or not body.get("base"):
            self._send(422, {"message": "Validation Failed"})
        else:
            self._send(
                201, {"number": 7, "html_url": "https://github.test/shop/storefront/pull/7", "draft": body["draft"]}
            )

    def _send(self, status: int, data: dict[str, Any]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def api() -> Iterator[str]:
    GitHub.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), GitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def setup(
    tmp_path: Path, api: str, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> Iterator[tuple[Database, Settings, Path, Path]]:
    monkeypatch.setenv("IL_TEST_TOKEN", "t0ken")
    remote = tmp_path / "remote.git"
    remote.mkdir()
    git(remote, "init", "-q", "--bare", "-b", "main")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "settings.py").write_text(BEFORE)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Dev", "-c", "user.email=d@x", "commit", "-q", "-m", "init")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    settings = parse_settings(
        "users: {alice: {roles: [approver]}, carol: {roles: [responder]}}\n"
        "repositories:\n"
        f"  shop: {{path: {repo}, push: true, test_command: [python3, settings.py],\n"
        f"         github: {{api_url: '{api}', owner: shop, repo: storefront, token_env: IL_TEST_TOKEN}}}}\n"
        "executors:\n  command:\n    enabled: true\n    timeout_seconds: 10\n"
        "    actions: {restart: [python3, -c, 'import sys; print(sys.argv[1:])', '--service={service}']}\n"
    )
    db = open_database(database_url)
    record_investigation(
        db,
        title="checkout timeouts",
        service="checkout",
        severity=Severity.HIGH,
        detected_ns=int(T0.timestamp()) * 1_000_000_000,
        alert_fingerprint="fp",
        evidence=[],
        hypotheses=[Hypothesis("hyp-1", "checkout times out", "checkout", FaultKind.CONFIG, 0.8, ("ev-1",))],
        brief_json="{}",
        workspace=str(tmp_path),
        inputs={},
        now=T0,
    )
    try:
        yield db, settings, repo, remote
    finally:
        db.dispose()


def _proposal(db: Database, settings: Settings, **fields: Any) -> str:
    base: dict[str, Any] = {
        "id": "draft",
        "hypothesis_id": "hyp-1",
        "kind": FixKind.CODE_PATCH,
        "title": "restore the timeout",
        "rationale": "timeout lowered",
        "risk": RiskLevel.LOW,
        "evidence_ids": ("ev-1",),
        "service": "checkout",
    }
    with db.session() as session:
        inv = session.execute(sa.text("SELECT max(id) FROM investigations")).scalar_one()
        stored = fixes.insert_proposals(
            session, incident_id="INC-0001", investigation_id=inv, proposals=[FixProposal(**{**base, **fields})], now=T0
        )
    pid = stored[0].proposal.id
    validate_fix(db, proposal_id=pid, settings=settings, actor="carol", now=T0)
    decide(db, proposal_id=pid, identity=settings.users["alice"], kind=DecisionKind.APPROVE, context=CTX, now=T0)
    return pid


def _run(db: Database, settings: Settings, pid: str, executor: str) -> fixes.ExecutionRow:
    approval = issue_approval(db, proposal_id=pid, context=CTX, actor="carol", now=T0)
    return execute_fix(
        db, proposal_id=pid, approval=approval, executor=executor, settings=settings, context=CTX, actor="carol", now=T0
    )


def test_branch_is_pushed_then_a_draft_pull_request_opened(setup: tuple[Database, Settings, Path, Path]) -> None:
    db, settings, _repo, remote = setup
    pid = _proposal(db, settings, diff=unified_diff("settings.py", BEFORE, AFTER))
    with pytest.raises(PolicyError, match="no pushed fix branch yet"):
        _run(db, settings, pid, "github_pr")  # preflight: nothing spent, nothing sent
    assert GitHub.requests == []
    row = _run(db, settings, pid, "git_branch")
    assert row.ok and row.result["pushed"] is True
    assert git(remote, "show", f"{row.result['branch']}:settings.py") == AFTER
    assert git(remote, "show", "main:settings.py") == BEFORE
    pr = _run(db, settings, pid, "github_pr")
    assert pr.result == {
        "url": "https://github.test/shop/storefront/pull/7",
        "number": 7,
        "draft": True,
        "head": row.result["branch"],
    }
    (sent,) = GitHub.requests
    assert sent["headers"]["Authorization"] == "Bearer t0ken"
    assert sent["headers"]["Accept"] == "application/vnd.github+json"
    assert (
        sent["body"]["draft"] is True
        and sent["body"]["base"] == "main"
        and sent["body"]["head"] == row.result["branch"]
    )
    assert "SUGGESTION" in sent["body"]["body"] and "alice" in sent["body"]["body"]
    with db.session() as session:
        assert [e.executor for e in fixes.list_executions(session, proposal_id=pid)] == ["git_branch", "github_pr"]
        assert fixes.get_proposal(session, proposal_id=pid).status is FixStatus.EXECUTED


def test_github_error_is_recorded_and_raised(
    setup: tuple[Database, Settings, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, settings, _, _ = setup
    pid = _proposal(db, settings, diff=unified_diff("settings.py", BEFORE, AFTER))
    _run(db, settings, pid, "git_branch")
    monkeypatch.setenv("IL_TEST_TOKEN", "wrong")
    with pytest.raises(RepositoryError, match=r"answered 401: .*Bad credentials"):
        _run(db, settings, pid, "github_pr")
    with db.session() as session:
        last = fixes.list_executions(session, proposal_id=pid)[-1]
    assert (last.executor, last.ok) == ("github_pr", False)


def test_validation_records_failing_tests_and_patches_that_do_not_apply(
    setup: tuple[Database, Settings, Path, Path],
) -> None:
    db, settings, _, _ = setup
    broken = unified_diff("settings.py", BEFORE, "TIMEOUT_MS = (\n")
    stale = unified_diff("settings.py", "TIMEOUT_MS = 7\n", AFTER)
    with db.session() as session:
        inv = session.execute(sa.text("SELECT max(id) FROM investigations")).scalar_one()
        made = fixes.insert_proposals(
            session,
            incident_id="INC-0001",
            investigation_id=inv,
            proposals=[
                FixProposal(
                    "d1",
                    "hyp-1",
                    FixKind.CODE_PATCH,
                    "syntax error",
                    "x",
                    RiskLevel.LOW,
                    (),
                    diff=broken,
                    service="checkout",
                ),
                FixProposal(
                    "d2", "hyp-1", FixKind.CODE_PATCH, "stale", "x", RiskLevel.LOW, (), diff=stale, service="checkout"
                ),
            ],
            now=T0,
        )
    failing = validate_fix(db, proposal_id=made[0].proposal.id, settings=settings, actor="carol", now=T0)
    assert failing.status is FixStatus.VALIDATION_FAILED
    assert failing.validation is not None and failing.validation["apply_ok"] is True
    assert failing.validation["test_exit_code"] == 1 and "SyntaxError" in failing.validation["output_tail"]
    not_applied = validate_fix(db, proposal_id=made[1].proposal.id, settings=settings, actor="carol", now=T0)
    assert not_applied.status is FixStatus.VALIDATION_FAILED
    assert not_applied.validation is not None and not_applied.validation["apply_ok"] is False
    assert "patch does not apply" in not_applied.validation["apply_message"]


def test_command_executor_runs_only_allow_listed_argv(setup: tuple[Database, Settings, Path, Path]) -> None:
    db, settings, _, _ = setup
    pid = _proposal(db, settings, kind=FixKind.OPERATION, action={"action": "restart", "service": "checkout"})
    row = _run(db, settings, pid, "command")
    assert row.ok and row.result["exit_code"] == 0 and "--service=checkout" in row.result["output_tail"]
    sneaky = _proposal(db, settings, kind=FixKind.OPERATION, action={"action": "restart", "service": "x; rm -rf /"})
    with pytest.raises(PolicyError, match="not a plain name"):
        _run(db, settings, sneaky, "command")
    other = _proposal(db, settings, kind=FixKind.OPERATION, action={"action": "drop-database", "service": "db"})
    with pytest.raises(PolicyError, match="not allow-listed"):
        _run(db, settings, other, "command")


def test_command_executor_is_disabled_by_default(setup: tuple[Database, Settings, Path, Path]) -> None:
    db, settings, _, _ = setup
    plain = parse_settings(json.dumps({k: v for k, v in settings.raw.items() if k != "executors"}))
    pid = _proposal(db, plain, kind=FixKind.OPERATION, action={"action": "restart", "service": "checkout"})
    with pytest.raises(PolicyError, match="disabled"):
        _run(db, plain, pid, "command")
    with pytest.raises(ConfigError, match="unknown executor"):
        _run(db, plain, pid, "ssh")


def _counting(settings: Settings, ran: Path) -> Settings:
    raw = json.loads(json.dumps(settings.raw))
    script = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + chr(10))"
    raw["executors"] = {
        "command": {
            "enabled": True,
            "timeout_seconds": 10,
            "actions": {"restart": ["python3", "-c", script, str(ran), "{service}"]},
        }
    }
    return parse_settings(json.dumps(raw))


def test_one_approval_set_authorises_one_command_run(
    setup: tuple[Database, Settings, Path, Path], tmp_path: Path
) -> None:
    db, settings, _, _ = setup
    ran = tmp_path / "ran.txt"
    counting = _counting(settings, ran)
    pid = _proposal(db, counting, kind=FixKind.OPERATION, action={"action": "restart", "service": "checkout"})

    def run(at: datetime) -> fixes.ExecutionRow:
        approval = issue_approval(db, proposal_id=pid, context=CTX, actor="carol", now=at)
        return execute_fix(
            db,
            proposal_id=pid,
            approval=approval,
            executor="command",
            settings=counting,
            context=CTX,
            actor="carol",
            now=at,
        )

    assert run(T0 + timedelta(minutes=1)).ok
    # Before the fix every call issued a fresh approval over the same decisions, and the command ran again.
    with pytest.raises(PolicyError, match="one approval set authorises one run, so a new run needs new approvals"):
        run(T0 + timedelta(minutes=2))
    assert ran.read_text().splitlines() == ["checkout"]
    decide(
        db,
        proposal_id=pid,
        identity=counting.users["alice"],
        kind=DecisionKind.APPROVE,
        context=CTX,
        now=T0 + timedelta(minutes=3),
    )
    assert run(T0 + timedelta(minutes=4)).ok
    assert ran.read_text().splitlines() == ["checkout", "checkout"]
    with db.session() as session:
        assert [e.ok for e in fixes.list_executions(session, proposal_id=pid)] == [True, True]


@pytest.mark.parametrize("value", ["checkout\n", "checkout\nrm", "-rf", ""])
def test_command_placeholders_are_full_matches(setup: tuple[Database, Settings, Path, Path], value: str) -> None:
    db, settings, _, _ = setup
    pid = _proposal(db, settings, kind=FixKind.OPERATION, action={"action": "restart", "service": value})
    with pytest.raises(PolicyError, match="not a plain name"):
        _run(db, settings, pid, "command")
