"""The canary test, end to end through the CLI: secrets and personal data planted in log lines, alert
annotations, commit messages, code comments and span names reach the evidence IncidentLens builds, and never
any request body the local model server receives (checked on the server side). Also: the narrative and the egress
record in the brief and the audit trail, `ask`, `assist`, and a model-drafted patch validated like any other."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from tests.assist.corpus import leaked
from tests.assist.llm_server import ScriptedModel, scripted_model
from tests.assist.plant import CANARIES, PLACES, SECRETS, plant
from typer.testing import CliRunner

from incidentlens.assist.incidents import egress_lines, incident_pack
from incidentlens.cli.main import app
from incidentlens.propose.diffs import unified_diff
from incidentlens.simulate import simulate
from incidentlens.store.database import open_database

runner = CliRunner()
SERVICE = "cart"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = tmp_path_factory.mktemp("canary") / "bundle"
    simulate("bad_deploy_exception", seed=7, out=bundle, scale=0.4)
    for place in PLACES:
        plant(bundle, place, CANARIES[place], service=SERVICE)
    return bundle


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedModel]:
    with scripted_model() as model:
        yield model


@pytest.fixture(scope="module")
def ws(planted: Path, server: ScriptedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("ws")
    check = [sys.executable, "-c", "import ast; ast.parse(open('services/cart/store.py').read())"]
    (workspace / "config.yaml").write_text(
        orjson.dumps(
            {
                "users": {"ana": {"roles": ["responder", "approver"]}},
                "default_user": "ana",
                "repositories": {"shop": {"path": str(planted / "repo"), "test_command": check}},
                "llm": {
                    "provider": "openai",
                    "base_url": f"{server.url}/v1",
                    "model": "canary-model",
                    "retries": 0,
                    "timeout_seconds": 5,
                    "budget": {"tokens": 10_000_000},
                    "names": ["shop.example"],
                },
            }
        ).decode()
    )
    code, out, err = invoke(workspace, "investigate", str(planted), "--record", "--assist", "--format", "md")
    assert code == 0, err
    assert "## Narrative (MODEL-DRAFTED" in out and "- Egress: " in out and "canary-model" in out
    return workspace


def invoke(ws: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--workspace", str(ws), *args])
    return result.exit_code, result.stdout, result.stderr


def test_planted_values_reach_the_evidence_but_no_request_body(ws: Path, server: ScriptedModel, planted: Path) -> None:
    for args in (
        ("ask", "INC-0001", "Which customer saw the error, and what was their card number?"),
        ("assist", "narrative", "INC-0001"),
        ("assist", "status", "INC-0001"),
        ("assist", "postmortem", "INC-0001"),
    ):
        code, out, err = invoke(ws, *args)
        assert code == 0, (args, err)
        assert "MODEL-DRAFTED" in out and "[ev-" in out
    _draft_patch(ws, server, planted)
    bodies = [r.body.decode() for r in server.received]
    assert len(bodies) == 6
    secrets = [s for place in PLACES for s in SECRETS[place]]
    assert [s for s in secrets for body in bodies if leaked(s, body)] == []  # the canary: 100 %
    # ... and the test means something: without the firewall these values were in the model's input.
    db = open_database(workspace=ws)
    try:
        raw = orjson.dumps(incident_pack(db, incident_id="INC-0001", max_evidence=40).as_data()).decode()
        reached = {place for place in PLACES if any(leaked(s, raw) for s in SECRETS[place])}
        assert reached == {"log", "alert", "commit", "span"}, reached  # code: checked in the patch request
    finally:
        db.dispose()
    assert all(b"shop.example" not in r.body for r in server.received)  # a configured name


def _draft_patch(ws: Path, server: ScriptedModel, planted: Path) -> None:
    repo = planted / "repo"
    before = subprocess.run(
        ["git", "show", "HEAD:services/cart/store.py"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    after = before.replace('return cart["items"]', 'return cart["items"] if cart else []')
    server.script = [f"patch:{unified_diff('services/cart/store.py', before, after)}"]
    server._served = 0
    code, out, err = invoke(ws, "assist", "patch", "INC-0001")
    server.script = ["grounded"]
    assert code == 0, err
    assert "## Patch rationale (MODEL-DRAFTED" in out
    assert "stored as INC-0001-F" in err
    proposal = err.split("stored as ")[1].split()[0]
    # The code the model saw came from the repository, redacted: the planted JWT in a comment did not leave.
    body = server.received[-1].body.decode()
    assert "class CartStore" in body and "[JWT_1]" in body
    code, shown, _ = invoke(ws, "fix", "show", proposal, "--json")
    data = orjson.loads(shown)
    assert data["title"].startswith("MODEL-DRAFTED") and data["author"].startswith("model:openai/")
    code, _, err = invoke(ws, "fix", "validate", proposal)
    assert code == 0, err
    code, shown, _ = invoke(ws, "fix", "show", proposal, "--json")
    assert orjson.loads(shown)["status"] == "validated"


def test_every_call_is_on_the_egress_record_in_the_audit_trail(ws: Path, server: ScriptedModel) -> None:
    db = open_database(workspace=ws)
    try:
        lines = egress_lines(db, incident_id="INC-0001")
    finally:
        db.dispose()
    assert len(lines) == len(server.received)
    assert {line.purpose for line in lines} >= {"narrative", "ask", "status", "postmortem"}
    for line in lines:
        assert line.endpoint == server.url and line.model == "canary-model" and line.redaction_on
        assert line.evidence_ids and line.bytes_sent > 0
    assert sum(line.redactions.get("EMAIL", 0) for line in lines) > 0
    code, out, _ = invoke(ws, "audit", "show", "INC-0001")
    assert code == 0 and "llm_call" in out and "egress" in out
    code, out, _ = invoke(ws, "audit", "verify")
    assert code == 0
