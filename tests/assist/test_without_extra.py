"""With the `llm` extra absent (detect-secrets, presidio and spaCy unimportable) every command still works; the
model commands say which extra to install, and a patterns-only firewall still runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from tests.assist.llm_server import ScriptedModel, scripted_model

from incidentlens.simulate import simulate

SRC = Path(__file__).resolve().parents[2] / "src"
BLOCK = (
    "import sys, json\n"
    "for name in ('detect_secrets', 'presidio_analyzer', 'spacy'):\n"
    "    sys.modules[name] = None  # import fails as if not installed\n"
    "from typer.testing import CliRunner\n"
    "from incidentlens.cli.main import app\n"
    "runner = CliRunner()\n"
    "out = []\n"
    "for args in json.loads(sys.argv[1]):\n"
    "    r = runner.invoke(app, args)\n"
    "    out.append({'code': r.exit_code, 'stdout': r.stdout, 'stderr': r.stderr})\n"
    "assert 'detect_secrets' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    "print(json.dumps(out))\n"
)


def cli(ws: Path, *commands: tuple[str, ...]) -> list[dict[str, str | int]]:
    """Run the commands in one process where the extras cannot be imported; their exit codes and output."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "INCIDENTLENS_WORKSPACE": str(ws)}
    env.pop("INCIDENTLENS_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", BLOCK, json.dumps([list(c) for c in commands])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, str | int]] = json.loads(done.stdout)
    return results


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedModel]:
    with scripted_model() as model:
        yield model


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("noextra")
    simulate("bad_deploy_exception", seed=3, out=root / "bundle", scale=0.25)
    return root / "bundle"


def test_every_command_works_and_the_model_commands_explain_themselves(
    bundle: Path, server: ScriptedModel, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    llm = {"provider": "openai", "base_url": f"{server.url}/v1", "model": "m", "budget": {"tokens": 10**8}}
    with_extra = tmp_path / "with-extra.yaml"
    with_extra.write_text(orjson.dumps({"llm": llm}).decode())
    patterns_only = tmp_path / "patterns.yaml"
    patterns_only.write_text(orjson.dumps({"llm": {**llm, "detectors": ["patterns"]}}).decode())
    results = cli(
        ws,
        ("investigate", str(bundle), "--record", "--format", "md"),
        ("--help",),
        ("incident", "list"),
        ("postmortem", "INC-0001"),
        ("status-update", "INC-0001"),
        ("fix", "list", "INC-0001"),
        ("audit", "verify"),
        ("ask", "INC-0001", "what broke?"),
        ("ask", "INC-0001", "what broke?", "--config", str(with_extra)),
        ("ask", "INC-0001", "what broke?", "--config", str(patterns_only)),
        ("investigate", str(bundle), "--no-record", "--assist", "--format", "md", "--config", str(with_extra)),
    )
    *works, no_model, no_extra, patterns, brief = results
    assert [r["code"] for r in works] == [0] * len(works), [r["stderr"] for r in works]
    assert "Narrative" not in str(works[0]["stdout"])
    assert no_model["code"] == 2 and "no language model is configured" in str(no_model["stderr"])
    assert no_extra["code"] == 2 and "pip install 'incidentlens[llm]'" in str(no_extra["stderr"])
    assert patterns["code"] == 0 and "MODEL-DRAFTED" in str(patterns["stdout"]), patterns["stderr"]
    assert len(server.received) == 1
    assert brief["code"] == 0 and "model text not used: llm.detectors lists detect_secrets" in str(brief["stdout"])
    assert all("Traceback" not in str(r["stderr"]) for r in results)
