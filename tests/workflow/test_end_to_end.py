"""The whole loop on a simulated code fault, through the CLI: investigate, confirm the hypothesis, fix
suggestions, validation, a two-person approval, a fix branch, verify-fix on post-fix telemetry, MTTx.

Post-fix telemetry is honest about what it is: the same shop simulated with fault `none` and the same
seed, i.e. a healthy run, not a run of the patched code. It checks that verify-fix confirms a prediction
when the failing template is gone, and the original bundle shows it refutes one when it is not.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from incidentlens.cli.main import app

runner = CliRunner()


def run(*args: str, ok: bool = True) -> str:
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def test_code_fault_from_alert_to_verified_fix(tmp_path: Path) -> None:
    bundle, healthy, ws = tmp_path / "bundle", tmp_path / "healthy", tmp_path / "ws"
    run("simulate", "--fault", "bad_deploy_exception", "--seed", "7", "--out", str(bundle))
    run("simulate", "--fault", "none", "--seed", "7", "--out", str(healthy))
    truth = json.loads((bundle / "truth.json").read_text())
    repo = bundle / "repo"
    main_before = git(repo, "rev-parse", "main").strip()
    (tmp_path / "policy.yaml").write_text(f"production_services: [{truth['service']}]\napproval_ttl: 2h\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        "users:\n"
        "  carol: {roles: [responder]}\n  alice: {roles: [approver]}\n  bob: {roles: [approver]}\n"
        "default_user: carol\npolicy: policy.yaml\n"
        f"repositories:\n  shop:\n    path: {repo}\n    test_command: [python3, -m, compileall, -q, services]\n"
        "    timeout_seconds: 60\n"
    )
    common = ("--workspace", str(ws))
    cfg = ("--config", str(config))

    run(*common, "investigate", str(bundle), "--format", "json", "--out", str(tmp_path / "brief.json"))
    brief = json.loads((tmp_path / "brief.json").read_text())
    top = brief["hypotheses"][0]
    assert top["service"] == truth["service"]
    run(*common, "incident", "assign", "INC-0001", truth["owner"], *cfg)
    run(*common, "incident", "own", "INC-0001", *cfg)
    run(*common, "hypothesis", "confirm", "INC-0001", top["id"], "--comment", "stack trace matches", *cfg)

    fixes = json.loads(run(*common, "fix", "list", "INC-0001", "--json", *cfg))
    revert = next(f for f in fixes if f["kind"] == "revert")
    assert revert["diff"] and truth["file"] in revert["diff"] and revert["evidence_ids"]
    assert revert["expectation"]["template"] == "cart operation failed"
    assert any(f["kind"] == "code_patch" and "if cart is None" in f["diff"] for f in fixes)
    pid = revert["id"]

    run(*common, "fix", "validate", pid, *cfg)
    shown = json.loads(run(*common, "fix", "show", pid, "--json"))
    assert shown["status"] == "validated" and shown["validation"]["test_exit_code"] == 0

    refused = runner.invoke(app, [*common, "fix", "execute", pid, "--executor", "git_branch", *cfg])
    assert refused.exit_code == 5 and "needs 2 distinct approver" in refused.output
    run(*common, "fix", "approve", pid, "--as", "alice", "--comment", "revert is safe", *cfg)
    again = runner.invoke(app, [*common, "fix", "execute", pid, "--executor", "git_branch", *cfg])
    assert again.exit_code == 5, again.output  # one approver is not two
    run(*common, "fix", "approve", pid, "--as", "bob", *cfg)
    done = run(*common, "fix", "execute", pid, "--executor", "git_branch", *cfg)
    assert "approved by alice, bob" in done

    branch = f"incidentlens/INC-0001-{pid.rsplit('-', 1)[-1]}"
    assert branch in git(repo, "branch", "--list", "incidentlens/*")
    assert git(repo, "rev-parse", "main").strip() == main_before
    assert git(repo, "status", "--porcelain") == ""
    assert "if cart is None" in git(repo, "show", f"{branch}:{truth['file']}")

    verdict = json.loads(run(*common, "verify-fix", pid, "--telemetry", str(healthy), "--json", *cfg))
    assert verdict["outcome"] == "confirmed" and verdict["observed"] == 0
    still_failing = json.loads(
        run(*common, "verify-fix", pid, "--telemetry", str(bundle / "logs" / "cart.jsonl"), "--json", *cfg)
    )
    assert still_failing["outcome"] == "refuted" and still_failing["observed"] > 10

    run(*common, "incident", "mitigate", "INC-0001", *cfg)
    run(*common, "incident", "resolve", "INC-0001", *cfg)
    metrics = json.loads(run(*common, "metrics", "--json"))
    text = json.dumps(metrics)
    assert '"mttu"' in text and '"mtto"' in text
    audit = run(*common, "audit", "verify")
    assert "ok" in audit.lower() or "verified" in audit.lower()
