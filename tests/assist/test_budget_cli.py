"""The per-incident budget on the command line: it holds across commands (summed from the egress record in
the audit chain), and once spent the deterministic text is printed and says so."""

from __future__ import annotations

from pathlib import Path

import orjson
from tests.assist.conftest import record_small_incident
from tests.assist.llm_server import scripted_model
from typer.testing import CliRunner

from incidentlens.cli.main import app

runner = CliRunner()


def test_a_spent_budget_falls_back_to_the_deterministic_text(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    record_small_incident(ws)
    with scripted_model("over_budget", "grounded") as model:
        llm = {"provider": "openai", "base_url": f"{model.url}/v1", "model": "m", "budget": {"tokens": 1_000_000}}
        (ws / "config.yaml").write_text(orjson.dumps({"llm": {**llm, "detectors": ["patterns"]}}).decode())
        base = ["--workspace", str(ws)]
        first = runner.invoke(app, [*base, "ask", "INC-0001", "what broke?"])
        assert first.exit_code == 0 and "[ev-1]" in first.stdout  # the answer came, reporting 10 M tokens used
        status = runner.invoke(app, [*base, "assist", "status", "INC-0001"])
        assert status.exit_code == 0
        assert "model text not used: over the token budget" in status.stdout
        assert "## What we know" in status.stdout  # the deterministic status update follows
        again = runner.invoke(app, [*base, "ask", "INC-0001", "and now?"])
        assert again.exit_code == 8 and "over the token budget" in again.stderr
        assert len(model.received) == 1
