"""`investigate` with configured sources, user times and the workspace store that `ingest` writes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from incidentlens.cli.app import app
from incidentlens.cli.main import main  # noqa: F401 - registers every command
from incidentlens.simulate import Truth, simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    out = tmp_path_factory.mktemp("cli-sources") / "bundle"
    return out, simulate("bad_deploy_exception", seed=7, out=out, with_repo=False)


def _iso(ns: int) -> str:
    from incidentlens.report.brief import iso

    return iso(ns)


def test_a_configured_files_source_with_since_and_until(tmp_path: Path, bundle: tuple[Path, Truth]) -> None:
    folder, truth = bundle
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"sources": {"shop": {"kind": "files", "paths": [str(folder)]}}}))
    args = ["--workspace", str(tmp_path / "ws"), "investigate", "--source", "shop", "--config", str(config)]
    since, until = _iso(truth.alert_ns - 25 * 60 * 10**9), _iso(truth.alert_ns + 5 * 60 * 10**9)
    result = runner.invoke(app, [*args, "--since", since, "--until", until, "--no-record", "--json"])
    assert result.exit_code == 0, result.output
    brief = orjson.loads(result.stdout)
    assert brief["hypotheses"][0]["service"] == truth.service
    assert brief["sources"][0]["name"] == "shop" and brief["sources"][0]["rows"]["spans"] > 0
    assert brief["baseline"][0] >= truth.alert_ns - 25 * 60 * 10**9


def test_an_unknown_source_lists_the_configured_ones(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"sources": {"prom": {"kind": "prometheus", "url": "http://127.0.0.1:9"}}}))
    result = runner.invoke(app, ["investigate", "--source", "loki", "--config", str(config), "--since", "-1h"])
    assert result.exit_code == 2
    assert "unknown source(s) loki" in result.output and "prom" in result.output


def test_a_live_source_needs_a_window(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"sources": {"loki": {"kind": "loki", "url": "http://127.0.0.1:9"}}}))
    result = runner.invoke(app, ["investigate", "--source", "loki", "--config", str(config), "--no-record"])
    assert result.exit_code == 2 and "needs a time window" in result.output


def test_an_unreadable_time_names_the_option() -> None:
    result = runner.invoke(app, ["investigate", "x", "--since", "yesterday-ish"])
    assert result.exit_code == 2 and "--since 'yesterday-ish': not a time" in result.output


def test_an_unreachable_source_is_a_note_and_the_exit_code_says_nothing_loaded(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    entry = {"kind": "loki", "url": "http://127.0.0.1:9", "retries": 0, "timeout_seconds": 1}
    config.write_text(yaml.safe_dump({"sources": {"loki": entry}}))
    result = runner.invoke(
        app, ["investigate", "--source", "loki", "--config", str(config), "--since", "-1h", "--no-record"]
    )
    assert result.exit_code == 2
    assert "no logs, spans or metrics to investigate" in result.output and "cannot connect" in result.output


def test_ingest_feeds_investigate_workspace(tmp_path: Path, bundle: tuple[Path, Truth]) -> None:
    folder, truth = bundle
    ws = tmp_path / "ws"
    missing = runner.invoke(app, ["--workspace", str(ws), "investigate", "--workspace", "--no-record"])
    assert missing.exit_code == 2 and "incidentlens ingest" in missing.output
    assert runner.invoke(app, ["--workspace", str(ws), "ingest", str(folder), "--json"]).exit_code == 0
    result = runner.invoke(app, ["--workspace", str(ws), "investigate", "--workspace", "--no-record", "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["hypotheses"][0]["service"] == truth.service


def test_a_file_given_as_the_wrong_signal_is_an_error_naming_it(tmp_path: Path, bundle: tuple[Path, Truth]) -> None:
    folder, _ = bundle
    metrics = folder / "metrics" / "metrics.prom.json"
    result = runner.invoke(app, ["investigate", "--logs", str(metrics), "--no-record"])
    assert result.exit_code == 2
    assert f"{metrics}: given as logs, but its content is prometheus" in result.output


def test_the_brief_lists_every_input_file_with_its_format(tmp_path: Path, bundle: tuple[Path, Truth]) -> None:
    folder, _ = bundle
    args = ["investigate", "--traces", str(folder / "traces"), "--metrics", str(folder / "metrics")]
    result = runner.invoke(app, [*args, "--alert", str(folder / "alerts"), "--no-record", "--json"])
    assert result.exit_code == 0, result.output
    files = {f["path"]: f for s in orjson.loads(result.stdout)["sources"] for f in s["files"]}
    metrics = files[str(folder / "metrics" / "metrics.prom.json")]
    assert metrics["format"] == "prometheus" and metrics["rows"] > 0 and metrics["problems"] == 0
    assert files[str(folder / "alerts" / "alertmanager.json")]["format"] == "alertmanager"
