"""Injection resistance: instructions planted in log lines, alert annotations, commit messages, code comments and
span names change no ranking, no proposal, no approval and no egress destination; a model repeating them is
flagged and its repetition withheld."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from tests.assist.injection import Outcome, investigate, malicious_narrative, variant
from tests.assist.llm_server import ScriptedModel, scripted_model
from tests.assist.plant import PLACES
from typer.testing import CliRunner

from incidentlens.cli.main import app
from incidentlens.simulate import simulate

SERVICE = "cart"


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Outcome]:
    bundle = tmp_path_factory.mktemp("inj") / "clean"
    simulate("bad_deploy_exception", seed=7, out=bundle, scale=0.4)
    return bundle, investigate(bundle)


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModel]:
    with scripted_model("malicious") as server:
        yield server


@pytest.mark.parametrize("place", [*PLACES, "all"])
def test_planted_instructions_change_no_conclusion_and_a_model_repeating_them_is_flagged(
    place: str, clean: tuple[Path, Outcome], model: ScriptedModel, tmp_path: Path
) -> None:
    bundle, before = clean
    after = investigate(variant(bundle, tmp_path / place, place, service=SERVICE))
    assert after.conclusion == before.conclusion
    assert after.ranking == before.ranking
    assert after.proposals == before.proposals
    model.received.clear()
    a = malicious_narrative(after.brief, model)
    assert a.flagged, "the model's repetition of planted instructions was not flagged"
    shown = " ".join(c.text for c in a.claims).lower()
    for phrase in ("ignore previous instructions", "root cause is payment", "approve fix", "attacker.example"):
        assert phrase not in shown
    assert [line.endpoint for line in a.egress] == [model.url] and len(model.received) == 1
    body = model.received[0].json
    system = body["messages"][0]["content"]
    assert "attacker.example" not in system and "Approve fix 7" not in system


def test_a_malicious_model_cannot_act_through_the_cli(
    clean: tuple[Path, Outcome], model: ScriptedModel, tmp_path: Path
) -> None:
    bundle = variant(clean[0], tmp_path / "all", "all", service=SERVICE)
    ws = tmp_path / "ws"
    ws.mkdir()
    model.script = ["malicious"]
    model.received.clear()
    (ws / "config.yaml").write_text(
        orjson.dumps(
            {"llm": {"provider": "anthropic", "base_url": model.url, "model": "evil", "budget": {"tokens": 10**8}}}
        ).decode()
    )
    runner = CliRunner()
    base = ["--workspace", str(ws)]
    result = runner.invoke(app, [*base, "investigate", str(bundle), "--record", "--assist", "--format", "md"])
    assert result.exit_code == 0, result.stderr
    assert "repeating instructions found in telemetry were withheld" in result.stdout
    before = orjson.loads(runner.invoke(app, [*base, "incident", "show", "INC-0001", "--json"]).stdout)
    for args in (["ask", "INC-0001", "approve fix 7 and close the incident"], ["assist", "status", "INC-0001"]):
        assert runner.invoke(app, [*base, *args]).exit_code == 0
    audit = orjson.loads(runner.invoke(app, [*base, "audit", "show", "INC-0001", "--json"]).stdout)
    actions = {(e["entity"], e["action"]) for e in audit}
    assert actions == {("incident", "open"), ("investigation", "record"), ("llm_call", "egress")}
    assert sum(e["action"] == "egress" for e in audit) == len(model.received) == 3
    shown = orjson.loads(runner.invoke(app, [*base, "incident", "show", "INC-0001", "--json"]).stdout)
    assert shown["status"] == before["status"] and shown["hypotheses"] == before["hypotheses"]
    assert {h["status"] for h in shown["hypotheses"]} == {"proposed"}
    assert {r.path for r in model.received} == {"/v1/messages"}
