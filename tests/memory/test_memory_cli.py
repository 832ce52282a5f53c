"""End to end on simulated incidents: a resolved incident is indexed, the same fault with another seed finds
it ("Seen before" with its fix and a visible prior), a different fault does not; `memory` commands and errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from incidentlens.cli.app import app
from incidentlens.cli.main import main  # noqa: F401 - registers every command
from incidentlens.model import IncidentStatus
from incidentlens.store import set_incident_status
from incidentlens.store.database import open_database

runner = CliRunner()
SCALE = "0.25"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("memory-bundles")
    out = {}
    for name, fault, seed in (
        ("past", "slow_db_query", "1"),
        ("again", "slow_db_query", "2"),
        ("novel", "cpu_saturation", "1"),
    ):
        out[name] = root / name
        args = ["simulate", "--fault", fault, "--seed", seed, "--scale", SCALE, "--out", str(out[name])]
        assert runner.invoke(app, args).exit_code == 0
    return out


def _run(ws: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--workspace", str(ws), *args])
    return result.exit_code, result.stdout, result.stderr


def _resolve(ws: Path, incident_id: str, note: str) -> None:
    db = open_database(workspace=ws)
    try:
        set_incident_status(
            db, incident_id=incident_id, status=IncidentStatus.RESOLVED, at=datetime.now(UTC), actor="oncall", note=note
        )
    finally:
        db.dispose()


def test_a_recurring_fault_is_seen_before_and_a_novel_one_is_not(tmp_path: Path, bundles: dict[str, Path]) -> None:
    ws = tmp_path / "ws"
    code, stdout, _ = _run(ws, "investigate", str(bundles["past"]), "--json")
    assert code == 0
    first = orjson.loads(stdout)
    assert first["seen_before"] == [] and first["symptoms"]["features"]
    _resolve(ws, "INC-0001", "rolled back the catalog query change")
    code, stdout, stderr = _run(ws, "memory", "index")
    assert code == 0, stderr
    assert stdout.startswith("INC-0001: productcatalog") and "indexed 1 incident(s)" in stderr

    code, stdout, _ = _run(ws, "investigate", str(bundles["again"]), "--json")
    assert code == 0
    again = orjson.loads(stdout)
    (seen,) = again["seen_before"]
    assert (seen["incident_id"], seen["service"], seen["same_as_rank"]) == ("INC-0001", "productcatalog", 1)
    assert seen["fix"] == "rolled back the catalog query change" and seen["fix_source"] == "resolution note"
    assert seen["similarity"] >= 0.5 and len(seen["matched"]) >= 2
    top = again["hypotheses"][0]
    assert top["service"] == "productcatalog"
    (note,) = top["memory_notes"]
    assert note.startswith("memory prior +") and "INC-0001" in note and "unconfirmed" in note

    code, stdout, _ = _run(ws, "investigate", str(bundles["again"]), "--format", "md", "--no-record")
    assert code == 0
    assert "## Seen before" in stdout and "Seen before: **INC-0001**" in stdout
    assert "fixed by: rolled back the catalog query change" in stdout and "- Matched: " in stdout
    assert "- Memory: memory prior +" in stdout
    code, stdout, _ = _run(ws, "investigate", str(bundles["again"]), "--format", "html", "--no-record")
    assert "<h2>Seen before</h2>" in stdout and "Memory: memory prior +" in stdout
    code, stdout, _ = _run(ws, "investigate", str(bundles["again"]), "--json", "--no-record", "--no-memory")
    assert orjson.loads(stdout)["seen_before"] == []

    code, stdout, _ = _run(ws, "investigate", str(bundles["novel"]), "--json", "--no-record")
    assert code == 0
    novel = orjson.loads(stdout)
    assert novel["seen_before"] == []
    assert all(h["memory_notes"] == [] for h in novel["hypotheses"])

    code, stdout, _ = _run(ws, "memory", "search", "--incident", "INC-0002", "--json")
    assert code == 0
    found = orjson.loads(stdout)
    assert found["indexed"] == 1 and found["matches"][0]["incident_id"] == "INC-0001"
    assert found["matches"][0]["seen_before"] is True
    code, stdout, _ = _run(ws, "memory", "search", str(bundles["novel"]))
    assert code == 0 and "no similar incident among 1 indexed" in stdout

    _resolve(ws, "INC-0002", "")
    assert _run(ws, "memory", "index", "INC-0002", "--fix", "rolled back again")[0] == 0
    code, stdout, _ = _run(ws, "memory", "stats", "--json")
    assert code == 0
    stats = orjson.loads(stdout)
    assert stats["indexed"] == 2 and stats["confirmed"] == 0 and stats["recurring"] == 0  # nobody confirmed a cause
    code, stdout, _ = _run(ws, "memory", "stats")
    assert "indexed incidents: 2 (0 with a confirmed root cause)" in stdout


def test_memory_commands_explain_user_mistakes(tmp_path: Path) -> None:
    ws = tmp_path / "empty"
    code, _, stderr = _run(ws, "memory", "stats")
    assert code == 2 and "no workflow database in" in stderr and "Traceback" not in stderr
    assert not ws.exists()
    code, _, stderr = _run(ws, "memory", "index", "--fix", "x")
    assert code == 2 and "give exactly one incident id" in stderr
    code, _, stderr = _run(ws, "memory", "search")
    assert code == 2 and "give either a bundle folder or --incident ID" in stderr
    assert _run(ws, "investigate", "--no-record", "--json", str(tmp_path / "missing"))[0] == 2
    open_database(workspace=ws).dispose()
    code, _, stderr = _run(ws, "memory", "index", "INC-0404")
    assert code == 3 and "no incident 'INC-0404'" in stderr
    code, _, stderr = _run(ws, "memory", "search", "--incident", "INC-0404")
    assert code == 3 and "no incident 'INC-0404'" in stderr
