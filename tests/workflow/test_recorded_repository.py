"""Code, commits and fixes (issue 15, section 3): the repository given to `investigate --repo` is recorded with
the incident and used by the fix workflow; validation states are exact."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from incidentlens.cli.main import app
from incidentlens.workflow.validate import validation_summary

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def test_revert_has_a_diff_from_the_recorded_repository_and_untested_is_not_validated(tmp_path: Path) -> None:
    bundle, ws = tmp_path / "bundle", tmp_path / "ws"
    run("simulate", "--fault", "bad_deploy_exception", "--seed", "7", "--out", str(bundle))
    config = tmp_path / "config.yaml"
    config.write_text("users:\n  carol: {roles: [responder]}\ndefault_user: carol\n")  # no repositories: section
    common, cfg = ("--workspace", str(ws)), ("--config", str(config))
    run(*common, "investigate", str(bundle), "--repo", str(bundle / "repo"), "--format", "json")
    fixes = json.loads(run(*common, "fix", "list", "INC-0001", "--json", *cfg))
    revert = next(f for f in fixes if f["kind"] == "revert")
    assert revert["diff"], "the recorded repository should give the revert its diff"
    shown = run(*common, "fix", "validate", revert["id"], *cfg)
    assert "None" not in shown
    assert "validation_failed" in shown and "the patch applies, but no tests ran" in shown
    data = json.loads(run(*common, "fix", "show", revert["id"], "--json"))
    assert data["status"] == "validation_failed"
    assert data["validation_summary"].startswith("the patch applies, but no tests ran")


def test_validation_summary_says_exactly_what_happened() -> None:
    assert validation_summary(None) == "not validated yet"
    assert validation_summary({"apply_ok": None, "spec_ok": True}).startswith("action spec: nothing to apply")
    assert validation_summary({"apply_ok": False, "apply_message": "patch does not apply"}) == (
        "the patch does not apply: patch does not apply"
    )
    passed = {"apply_ok": True, "test_exit_code": 0, "duration_s": 1.25}
    assert validation_summary(passed) == "the patch applies and the tests passed in 1.2 s"
    assert "tests failed (exit 3)" in validation_summary({"apply_ok": True, "test_exit_code": 3})
    assert "timed out" in validation_summary({"apply_ok": True, "test_exit_code": None, "timed_out": True})
    for v in ({"apply_ok": None}, {"apply_ok": True}, {"apply_ok": True, "test_exit_code": None}):
        assert "None" not in validation_summary(v)
