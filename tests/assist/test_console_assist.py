"""The console shows the model narrative (escaped, labelled) and the incident's egress record."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from tests.assist.conftest import record_small_incident
from tests.assist.llm_server import scripted_model

from incidentlens.assist.incidents import record_egress
from incidentlens.model import Evidence, EvidenceKind, FaultKind, Hypothesis, Severity
from incidentlens.report.assistance import EgressLine
from incidentlens.store.database import open_database
from incidentlens.workflow import record_investigation

pytest.importorskip("fastapi", reason="the web extra is not installed")


def test_the_incident_page_shows_the_narrative_and_every_model_call(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from incidentlens.web.app import create_app
    from incidentlens.web.settings import load_web_settings

    ws = tmp_path / "ws"
    config = tmp_path / "config.yaml"
    digest = hashlib.sha256(b"tok-1").hexdigest()
    config.write_text(f"users:\n  carol: {{roles: [responder], token_sha256: {digest}}}\n")
    assistance = {
        "purpose": "narrative",
        "claims": [{"text": "Payment fails <script>alert(1)</script>", "evidence": ["ev-1"]}],
        "dropped": 2,
        "flagged": ["ignore previous instructions"],
        "fallback": "",
    }
    db = open_database(workspace=ws)
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
            brief_json=orjson.dumps({"summary": "HYPOTHESIS: payment", "assistance": assistance}).decode(),
            workspace="ws",
            inputs={},
        )
        line = EgressLine(
            "openai", "m1", "http://127.0.0.1:9", "ask", "2026-12-03T22:00:00Z", 1234, ("ev-1",), {"EMAIL": 3}
        )
        record_egress(db, incident_id="INC-0001", lines=[line], at=datetime.now(UTC))
    finally:
        db.dispose()
    app = create_app(load_web_settings(config=config, workspace=ws, database_url=None), run_worker=False)
    client = TestClient(app, follow_redirects=False)
    response = client.post("/login", data={"user": "carol", "token": "tok-1", "next": "/incidents"})
    assert response.status_code == 303
    html = client.get("/incidents/INC-0001").text
    assert "MODEL-DRAFTED" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "2 model claim(s) without existing evidence ids were dropped" in html
    assert "1 model claim(s) repeating instructions found in telemetry were withheld" in html
    assert "Language model egress (1 calls)" in html
    assert "1234 bytes, 1 evidence records, redacted: EMAIL 3" in html
    assert "Ask about this incident" not in html  # no model configured: no form


def test_a_responder_asks_in_the_console_and_the_answer_cites_evidence(tmp_path: Path) -> None:
    import re

    from fastapi.testclient import TestClient

    from incidentlens.web.app import create_app
    from incidentlens.web.settings import load_web_settings

    ws = tmp_path / "ws"
    with scripted_model() as model:
        config = tmp_path / "config.yaml"
        config.write_text(
            "users:\n"
            f"  carol: {{roles: [responder], token_sha256: {hashlib.sha256(b'tok-1').hexdigest()}}}\n"
            f"  vera: {{roles: [viewer], token_sha256: {hashlib.sha256(b'tok-2').hexdigest()}}}\n"
            f"llm: {{provider: openai, base_url: '{model.url}/v1', model: m, detectors: [patterns]}}\n"
        )
        record_small_incident(ws)
        app = create_app(load_web_settings(config=config, workspace=ws, database_url=None), run_worker=False)
        for user, token, status in (("vera", "tok-2", 403), ("carol", "tok-1", 200)):
            client = TestClient(app, follow_redirects=False)
            client.post("/login", data={"user": user, "token": token, "next": "/incidents"})
            page = client.get("/incidents/INC-0001").text
            assert "Ask about this incident" in page
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf is not None
            answer = client.post(
                "/incidents/INC-0001/ask", data={"csrf": csrf.group(1), "question": "what failed for bob@x.example?"}
            )
            assert answer.status_code == status
        assert "[ev-1]" in answer.text and "Egress: " in answer.text and "Q:</strong> what failed" in answer.text
        assert len(model.received) == 1 and b"bob@x.example" not in model.received[0].body
        assert "Language model egress (1 calls)" in answer.text
