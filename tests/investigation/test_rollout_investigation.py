"""End to end: `investigate` on a simulated rolling update names the defective service, version and pods."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from incidentlens.cli.app import app
from incidentlens.cli.main import main  # noqa: F401 - registers every command

runner = CliRunner()


@pytest.mark.parametrize(("fault", "seed"), [("rollout_errors", 3), ("rollout_edge_errors", 8)])
def test_investigate_names_the_defective_rollout(tmp_path: Path, fault: str, seed: int) -> None:
    bundle = tmp_path / "bundle"
    made = runner.invoke(
        app, ["simulate", "--fault", fault, "--seed", str(seed), "--services", "4", "--out", str(bundle)]
    )
    assert made.exit_code == 0, made.output
    truth = orjson.loads((bundle / "truth.json").read_bytes())
    assert truth["latest_change_service"] != truth["service"]  # recency alone would miss this one
    result = runner.invoke(app, ["investigate", str(bundle), "--format", "json", "--no-record"])
    assert result.exit_code == 0, result.output
    brief = orjson.loads(result.stdout)
    top = brief["hypotheses"][0]
    assert top["service"] == truth["service"]
    assert truth["version"] in top["claim"]
    assert all(pod in top["claim"] for pod in truth["pods"])
    assert top["confidence"] >= 0.5 and not brief["abstained"]


def test_simulate_services_option_is_for_rollouts_only(tmp_path: Path) -> None:
    bad = runner.invoke(app, ["simulate", "--fault", "cpu_saturation", "--services", "3", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "rollout" in bad.output
    listed = orjson.loads(runner.invoke(app, ["simulate", "--list", "--json"]).stdout)
    assert {"rollout_errors", "rollout_edge_latency", "rollout_none"} <= set(listed)
