"""A recurring fault: one simulated incident is recorded, confirmed and resolved (which indexes it in the
memory); the same fault simulated with another seed then shows it under "Seen before" in the brief."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from typer.testing import CliRunner

from incidentlens.cli.main import app
from incidentlens.memory.indexing import load_fingerprints
from incidentlens.model import Evidence, EvidenceKind, FaultKind, Hypothesis, HypothesisStatus, Severity
from incidentlens.store.database import open_database
from incidentlens.workflow import incidents, record_investigation
from incidentlens.workflow.ledger import decide_hypothesis

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def test_the_brief_of_a_recurring_fault_shows_the_past_incident_as_seen_before(tmp_path: Path) -> None:
    past, again, ws = tmp_path / "past", tmp_path / "again", tmp_path / "ws"
    for out, seed in ((past, "1"), (again, "2")):
        run("simulate", "--fault", "slow_db_query", "--seed", seed, "--scale", "0.25", "--out", str(out))
    config = tmp_path / "config.yaml"
    config.write_text("users:\n  carol: {roles: [responder]}\ndefault_user: carol\n")
    w, c = ("--workspace", str(ws)), ("--config", str(config))

    first = json.loads(run(*w, "investigate", str(past), "--json"))
    assert first["seen_before"] == []
    top = first["hypotheses"][0]
    run(*w, "hypothesis", "confirm", "INC-0001", top["id"], "--comment", "slow query plan", *c)
    run(*w, "incident", "resolve", "INC-0001", "--note", "restored the catalog index", *c)
    # `incident resolve` on the command line does not index yet (workflow.incidents.resolve does): index explicitly.
    run(*w, "memory", "index")

    brief = run(*w, "investigate", str(again), "--format", "md")
    section = brief.split("## Seen before\n", 1)[1].split("\n## ", 1)[0]
    assert section.startswith("- Seen before: **INC-0001**")
    assert "same root cause as hypothesis 1 (productcatalog" in section
    assert "fixed by: restored the catalog index" in section and "  - Matched: " in section


def _recorded(ws: Path) -> None:
    db = open_database(workspace=ws)
    try:
        record_investigation(
            db,
            title="payment fails",
            service="payment",
            severity=Severity.HIGH,
            detected_ns=1_764_300_000_000_000_000,
            alert_fingerprint="fp",
            evidence=[Evidence("ev-1", EvidenceKind.LOG_TEMPLATE, "payment", "new template", "charge failed")],
            hypotheses=[Hypothesis("hyp-1-payment", "payment code", "payment", FaultKind.CODE, 0.8, ("ev-1",))],
            brief_json=orjson.dumps({"impact": {"affected_services": ["payment"]}}).decode(),
            workspace="ws",
            inputs={},
        )
    finally:
        db.dispose()


def test_a_cause_confirmed_in_the_ledger_is_indexed_as_confirmed(tmp_path: Path) -> None:
    _recorded(tmp_path)
    db = open_database(workspace=tmp_path)
    try:
        decide_hypothesis(
            db,
            incident_id="INC-0001",
            hypothesis_id="hyp-1-payment",
            decision=HypothesisStatus.CONFIRMED,
            comment="",
            actor="carol",
        )
        incidents.resolve(db, incident_id="INC-0001", actor="carol")
        (fingerprint,) = load_fingerprints(db)
    finally:
        db.dispose()
    assert fingerprint.cause is not None and fingerprint.cause.confirmed


def test_resolving_on_the_command_line_indexes_the_incident(tmp_path: Path) -> None:
    _recorded(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text("users:\n  carol: {roles: [responder]}\ndefault_user: carol\n")
    run("--workspace", str(tmp_path), "incident", "resolve", "INC-0001", "--config", str(config))
    stats = json.loads(run("--workspace", str(tmp_path), "memory", "stats", "--json"))
    assert stats["indexed"] == 1
