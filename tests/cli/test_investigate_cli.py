"""`incidentlens demo`, `investigate` and `simulate` through the CLI runner, in-process."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from incidentlens.cli.app import app
from incidentlens.cli.main import main  # noqa: F401 - registers every command

runner = CliRunner()


def test_demo_json_names_truth_and_ranks_it_first(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--workspace", str(tmp_path / "ws"), "demo", "--json"])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert data["truth"]["service"]
    top = data["hypotheses"][0]
    assert top["service"] == data["truth"]["service"]
    assert top["label"] == "HYPOTHESIS"
    assert 0 < top["confidence"] <= 1
    assert top["evidence"] and all(e["id"] and e["excerpt"] for e in top["evidence"])


def test_investigate_writes_every_format_and_records_the_incident(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    ws = tmp_path / "ws"
    assert (
        runner.invoke(app, ["simulate", "--fault", "cpu_saturation", "--seed", "3", "--out", str(bundle)]).exit_code
        == 0
    )
    for fmt, marker in (("md", "HYPOTHESIS"), ("html", "<!doctype html>"), ("json", '"hypotheses"')):
        out = tmp_path / f"brief.{fmt}"
        result = runner.invoke(
            app, ["--workspace", str(ws), "investigate", str(bundle), "--format", fmt, "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert marker in out.read_text()
    assert (ws / "incidentlens.db").exists()
    html = (tmp_path / "brief.html").read_text()
    assert "SUGGESTION" in html or "Not enough evidence" in html


def test_investigate_with_explicit_inputs(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    assert runner.invoke(app, ["simulate", "--fault", "bad_deploy_exception", "--out", str(bundle)]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "--workspace",
            str(tmp_path / "ws"),
            "investigate",
            "--no-record",
            "--json",
            "--traces",
            str(bundle / "traces"),
            "--logs",
            str(bundle / "logs"),
            "--metrics",
            str(bundle / "metrics"),
            "--alert",
            str(bundle / "alerts"),
            "--changes",
            str(bundle / "changes"),
            "--repo",
            str(bundle / "repo"),
        ],
    )
    assert result.exit_code == 0, result.output
    truth = orjson.loads((bundle / "truth.json").read_bytes())
    assert orjson.loads(result.stdout)["hypotheses"][0]["service"] == truth["service"]


def test_investigate_nothing_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--workspace", str(tmp_path / "ws"), "investigate"])
    assert result.exit_code == 2
    assert "nothing to investigate" in result.output


def test_simulate_list_and_unknown_fault(tmp_path: Path) -> None:
    listed = runner.invoke(app, ["simulate", "--list", "--json"])
    assert listed.exit_code == 0
    assert len(orjson.loads(listed.stdout)) >= 11
    bad = runner.invoke(app, ["simulate", "--fault", "nope", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown fault" in bad.output
