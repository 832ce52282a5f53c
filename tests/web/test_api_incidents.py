"""The REST API over a real recorded investigation: lifecycle, ledger, evidence, fixes, audit, metrics."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from incidentlens.investigation import InvestigationRequest, run
from incidentlens.model.enums import Severity
from incidentlens.report.render import render_json
from incidentlens.simulate import DEFAULT_FAULT, simulate
from incidentlens.store.database import open_database
from incidentlens.store.lifecycle_repository import all_facts
from incidentlens.web.app import create_app
from incidentlens.web.settings import hash_token, load_web_settings
from incidentlens.workflow.investigations import record_investigation
from incidentlens.workflow.metrics import summarise

ALICE = {"Authorization": "Bearer tok-alice"}
BOB = {"Authorization": "Bearer tok-bob"}
VIC = {"Authorization": "Bearer tok-vic"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workflow database holding one real investigation of the demo incident (copied per test)."""
    root = tmp_path_factory.mktemp("recorded")
    simulate(DEFAULT_FAULT, seed=7, out=root / "bundle")
    result = run(InvestigationRequest.for_files([root / "bundle"], repository=root / "bundle" / "repo"))
    with open_database(workspace=root / "ws") as db:
        record_investigation(
            db,
            title=result.brief.title,
            service=result.hypotheses[0].service,
            severity=Severity.CRITICAL,
            detected_ns=result.brief.alert_ns or result.brief.onset_ns,
            alert_fingerprint=result.brief.alert_fingerprint,
            evidence=list(result.evidence.values()),
            hypotheses=list(result.hypotheses),
            brief_json=render_json(result.brief),
            workspace="test",
            inputs={},
        )
    return root / "ws" / "incidentlens.db"


@pytest.fixture
def client(tmp_path: Path, recorded: Path) -> TestClient:
    shutil.copy(recorded, tmp_path / "incidentlens.db")
    (tmp_path / "c.yaml").write_text(
        "users:\n"
        f"  alice: {{roles: [responder], token_sha256: {hash_token('tok-alice')}}}\n"
        f"  bob: {{roles: [approver], token_sha256: {hash_token('tok-bob')}}}\n"
        f"  vic: {{roles: [viewer], token_sha256: {hash_token('tok-vic')}}}\n"
    )
    settings = load_web_settings(config=tmp_path / "c.yaml", workspace=tmp_path, database_url=None)
    return TestClient(create_app(settings, run_worker=False))


def test_list_with_filters_and_detail(client: TestClient) -> None:
    [row] = client.get("/api/v1/incidents", headers=VIC).json()
    assert row["id"] == "INC-0001" and row["status"] == "investigating" and row["investigations"] == 1
    assert client.get(f"/api/v1/incidents?service={row['service']}&severity=critical", headers=VIC).json() == [row]
    assert client.get("/api/v1/incidents?status=resolved", headers=VIC).json() == []
    assert client.get("/api/v1/incidents?severity=info", headers=VIC).json() == []
    detail = client.get("/api/v1/incidents/INC-0001", headers=VIC).json()
    assert detail["hypotheses"][0]["label"] == "HYPOTHESIS" and detail["metrics"]["mttu"] is None


def test_lifecycle_and_decisions_are_attributed_to_the_caller(client: TestClient) -> None:
    hid = client.get("/api/v1/incidents/INC-0001/hypotheses", headers=VIC).json()[0]["id"]
    ack = client.post("/api/v1/incidents/INC-0001/steps/ack", json={"note": "on it"}, headers=ALICE)
    assert ack.status_code == 200 and ack.json()["status"] == "investigating"  # the furthest step stays
    again = client.post("/api/v1/incidents/INC-0001/steps/ack", json={}, headers=ALICE)
    assert again.status_code == 409 and "alice" in again.json()["detail"]
    assert client.post("/api/v1/incidents/INC-0001/steps/dance", json={}, headers=ALICE).status_code == 400
    # A body naming someone else is ignored: the decision is alice's.
    r = client.post(
        f"/api/v1/incidents/INC-0001/hypotheses/{hid}/confirm",
        json={"comment": "logs agree", "actor": "bob"},
        headers=ALICE,
    ).json()
    assert r["actor"] == "alice" and r["marked_understood"] is True
    refute = client.post(f"/api/v1/incidents/INC-0001/hypotheses/{hid}/refute", json={}, headers=ALICE)
    assert refute.status_code == 400 and "needs a comment" in refute.json()["detail"]
    assign = client.post("/api/v1/incidents/INC-0001/assign", json={"owner": "@team-payments"}, headers=ALICE).json()
    assert assign == {
        "incident": "INC-0001",
        "owner": "@team-payments",
        "previous_owner": None,
        "reassignments": 0,
        "actor": "alice",
    }
    for step in ("own", "mitigate", "resolve"):
        assert client.post(f"/api/v1/incidents/INC-0001/steps/{step}", json={}, headers=ALICE).status_code == 200
    trail = client.get("/api/v1/incidents/INC-0001/audit", headers=VIC).json()
    assert [e["action"] for e in trail][-7:] == ["ack", "confirm", "understand", "assign", "own", "mitigate", "resolve"]
    assert {e["actor"] for e in trail} == {"incidentlens", "alice"}
    assert client.get("/api/v1/audit/verify", headers=VIC).json()["ok"] is True
    assert client.get("/api/v1/audit/verify?expect_head=00", headers=VIC).json()["ok"] is False
    with client.app.state.db.session(readonly=True) as session:  # type: ignore[attr-defined]
        expected = summarise(all_facts(session)).as_json()
    got = client.get("/api/v1/metrics", headers=VIC).json()
    assert got["aggregates"] == expected["aggregates"] and got["finished"] == expected["finished"]
    assert got == expected and len(got["finished"]) == 1


def test_evidence_carries_stored_excerpts(client: TestClient) -> None:
    evidence = client.get("/api/v1/incidents/INC-0001/evidence", headers=VIC).json()
    assert evidence and all(e["id"] and e["kind"] and "excerpt" in e for e in evidence)
    assert any(e["excerpt"] for e in evidence)
    brief = client.get("/api/v1/incidents/INC-0001/brief", headers=VIC).json()
    assert brief["hypotheses"][0]["label"] == "HYPOTHESIS"


def test_fixes_go_through_the_gate_and_approvals_are_the_callers(client: TestClient) -> None:
    assert client.get("/api/v1/incidents/INC-0001/fixes", headers=VIC).json()["fixes"] == []  # a GET changes nothing
    assert client.post("/api/v1/incidents/INC-0001/fixes/generate", headers=VIC).status_code == 403
    made = client.post("/api/v1/incidents/INC-0001/fixes/generate", headers=ALICE)
    assert made.status_code == 200, made.text
    fixes = client.get("/api/v1/incidents/INC-0001/fixes", headers=VIC).json()["fixes"]
    assert fixes == made.json()["fixes"] and all(f["label"] == "SUGGESTION" for f in fixes)
    pid = fixes[0]["id"]
    assert client.get(f"/api/v1/fixes/{pid}", headers=VIC).json()["id"] == pid
    refused = client.post(f"/api/v1/fixes/{pid}/execute", json={"executor": "command"}, headers=ALICE)
    assert refused.status_code == 409 and refused.json()["type"] == "urn:incidentlens:problem:policy"
    assert client.post(f"/api/v1/fixes/{pid}/approve", json={}, headers=VIC).status_code == 403
    approved = client.post(f"/api/v1/fixes/{pid}/approve", json={"comment": "ok", "actor": "root"}, headers=BOB)
    assert approved.status_code == 200, approved.text
    assert approved.json()["actor"] == "bob"
    decisions = client.get(f"/api/v1/fixes/{pid}/decisions", headers=VIC).json()
    assert [(d["actor"], d["kind"]) for d in decisions] == [("bob", "approve")]
