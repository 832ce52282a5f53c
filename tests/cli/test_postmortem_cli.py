"""`incidentlens postmortem` and `status-update` on the command line: formats, files, templates from
the settings, the SLO option, and clear errors (exit codes, no traceback) for user mistakes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from incidentlens.cli.main import app
from incidentlens.model import Evidence, EvidenceKind, FaultKind, Hypothesis, Severity
from incidentlens.store.database import open_database
from incidentlens.workflow import record_investigation

runner = CliRunner()


def invoke(ws: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--workspace", str(ws), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace with one recorded incident (an investigation with one hypothesis and its evidence)."""
    workspace = tmp_path / "ws"
    db = open_database(workspace=workspace)
    try:
        record_investigation(
            db,
            title="payment fails",
            service="payment",
            severity=Severity.HIGH,
            detected_ns=1_764_300_000_000_000_000,
            alert_fingerprint="fp",
            evidence=[Evidence("ev-1", EvidenceKind.LOG_TEMPLATE, "payment", "new error template", "charge failed")],
            hypotheses=[Hypothesis("hyp-1-payment", "payment code", "payment", FaultKind.CODE, 0.7, ("ev-1",))],
            brief_json=orjson.dumps(
                {
                    "onset_ns": 1_764_299_880_000_000_000,
                    "impact": {"affected_services": ["payment"], "error_rate_before": 0.0, "error_rate_during": 0.2},
                }
            ).decode(),
            workspace="ws",
            inputs={},
        )
    finally:
        db.dispose()
    return workspace


def test_postmortem_prints_markdown_and_writes_html_with_the_slo_given(ws: Path, tmp_path: Path) -> None:
    code, stdout, _ = invoke(ws, "postmortem", "INC-0001", "--slo", "99.5")
    assert code == 0
    assert stdout.startswith("# Postmortem draft: INC-0001 — payment fails")
    assert "- The root cause is not confirmed" in stdout and "[ev:ev-1]" in stdout
    assert "of a 99.5 % availability SLO over 30 days" in stdout
    page = tmp_path / "out" / "pm.html"
    code, stdout, stderr = invoke(ws, "postmortem", "INC-0001", "--format", "html", "--out", str(page))
    assert code == 0 and stdout == "" and f"postmortem draft written to {page}" in stderr
    assert page.read_text().startswith("<!doctype html>") and not list(page.parent.glob(".pm.html.*"))


def test_status_update_promises_the_next_update(ws: Path) -> None:
    code, stdout, _ = invoke(ws, "status-update", "INC-0001", "--next-update", "20")
    assert code == 0
    assert "## What we know" in stdout and "## What we are doing" in stdout
    assert "Next update in 20 minutes, by " in stdout
    code, stdout, _ = invoke(ws, "status-update", "INC-0001", "--format", "html")
    assert code == 0 and '<h2 id="s-next">Next update</h2>' in stdout
    code, _, stderr = invoke(ws, "status-update", "INC-0001", "--next-update", "0")
    assert code == 2 and "Traceback" not in stderr


def test_templates_come_from_the_option_or_the_settings_file(ws: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "status.md.j2").write_text("{{ su.incident_id }} is {{ su.status }}\n")
    assert invoke(ws, "status-update", "INC-0001", "--templates", str(mine))[1] == "INC-0001 is investigating\n"
    config = tmp_path / "config.yaml"
    config.write_text("templates_dir: mine\nslo: {target: 99.0, window_days: 7}\n")  # relative to the settings file
    code, stdout, _ = invoke(ws, "status-update", "INC-0001", "--config", str(config))
    assert (code, stdout) == (0, "INC-0001 is investigating\n")
    code, stdout, _ = invoke(ws, "postmortem", "INC-0001", "--config", str(config))
    assert code == 0 and "of a 99 % availability SLO over 7 days" in stdout  # postmortem.md.j2 is still built in


@pytest.mark.parametrize(
    ("args", "settings", "code", "message"),
    [
        (("postmortem", "INC-0404"), "", 3, "no incident 'INC-0404'"),
        (("postmortem", "INC-0001", "--templates", "missing"), "", 2, "templates folder missing does not exist"),
        (("postmortem", "INC-0001", "--slo", "100"), "", 2, "SLO target must be a percentage between 0 and 100"),
        (("postmortem", "INC-0001", "--format", "pdf"), "", 2, "pdf"),
        (("postmortem", "INC-0001"), "slo: {target: high}\n", 2, "'slo.target' must be a number"),
        (("postmortem", "INC-0001"), "slo: {aim: 99}\n", 2, "'slo' has unknown key(s) aim"),
        (("status-update", "INC-0001"), "templates_dir: 7\n", 2, "'templates_dir' must be a folder path"),
    ],
)
def test_user_mistakes_are_named_without_a_traceback(
    ws: Path, tmp_path: Path, args: tuple[str, ...], settings: str, code: int, message: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(settings)
    got, _, stderr = invoke(ws, *args, "--config", str(config))
    assert got == code and message in " ".join(stderr.split()) and "Traceback" not in stderr


def test_no_workflow_database_is_an_input_error_and_creates_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    code, _, stderr = invoke(empty, "postmortem", "INC-0001")
    assert code == 2 and "no workflow database in" in stderr and not empty.exists()
