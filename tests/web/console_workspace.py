"""A console test workspace: a simulated code fault with an XSS log line, investigated and recorded, users with
tokens (carol responder, alice and bob approvers), a two-approver policy and the bundle's git repository for
the git_branch executor. Shared by the TestClient and browser tests (loaded by path: tests are not a package).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from incidentlens.cli.main import app

XSS = "<script>alert('xss')</script><img src=x onerror=alert(1)>"
TOKENS = {"carol": "carol-token-1", "alice": "alice-token-2", "bob": "bob-token-3", "vera": "vera-token-4"}
ROLES = {"carol": "responder", "alice": "approver", "bob": "approver", "vera": "viewer"}


@dataclass(frozen=True)
class ConsoleWorkspace:
    root: Path
    workspace: Path
    config: Path
    repo: Path
    truth: dict[str, str]
    top_hypothesis: str
    other_hypothesis: str
    revert_id: str


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def build_workspace(root: Path) -> ConsoleWorkspace:
    """Simulate, inject the XSS line, investigate, configure; fix suggestions generated and the revert validated."""
    bundle, ws = root / "bundle", root / "ws"
    _cli("simulate", "--fault", "bad_deploy_exception", "--seed", "7", "--out", str(bundle))
    logs = bundle / "logs" / "cart.jsonl"
    text = logs.read_text()
    assert '"message":"cart operation failed"' in text
    logs.write_text(text.replace('"message":"cart operation failed"', f'"message":"cart operation failed {XSS}"'))
    truth = json.loads((bundle / "truth.json").read_text())
    (root / "policy.yaml").write_text(f"production_services: [{truth['service']}]\napproval_ttl: 2h\n")
    users = "".join(
        f"  {name}: {{roles: [{ROLES[name]}], token_sha256: {hashlib.sha256(token.encode()).hexdigest()}}}\n"
        for name, token in TOKENS.items()
    )
    config = root / "config.yaml"
    config.write_text(
        f"users:\n{users}default_user: carol\npolicy: policy.yaml\n"
        f"repositories:\n  shop:\n    path: {bundle / 'repo'}\n"
        "    test_command: [python3, -m, compileall, -q, services]\n    timeout_seconds: 60\n"
    )
    common = ("--workspace", str(ws))
    _cli(*common, "investigate", str(bundle), "--format", "json", "--out", str(root / "brief.json"))
    brief = json.loads((root / "brief.json").read_text())
    fixes = json.loads(_cli(*common, "fix", "list", "INC-0001", "--json", "--config", str(config)))
    revert = next(f for f in fixes if f["kind"] == "revert")
    _cli(*common, "fix", "validate", revert["id"], "--config", str(config))
    return ConsoleWorkspace(
        root=root,
        workspace=ws,
        config=config,
        repo=bundle / "repo",
        truth=truth,
        top_hypothesis=brief["hypotheses"][0]["id"],
        other_hypothesis=brief["hypotheses"][1]["id"],
        revert_id=revert["id"],
    )
