"""Schemathesis against the in-process ASGI app, authenticated as an admin: no request may cause a 5xx."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from incidentlens.web.app import create_app
from incidentlens.web.settings import hash_token, load_web_settings

_ROOT = Path(tempfile.mkdtemp(prefix="incidentlens-schemathesis-"))
(_ROOT / "c.yaml").write_text(
    f"users:\n  root: {{roles: [admin], token_sha256: {hash_token('tok-root')}}}\n"
    "web: {webhook_secrets: {alertmanager: s, pagerduty: p}}\n"
)
APP = create_app(load_web_settings(config=_ROOT / "c.yaml", workspace=_ROOT, database_url=None), run_worker=False)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


def test_openapi_document_is_served() -> None:
    from fastapi.testclient import TestClient

    doc = TestClient(APP).get("/api/v1/openapi.json").json()
    assert "/api/v1/incidents" in doc["paths"] and "/api/v1/webhooks/alertmanager" in doc["paths"]


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": "Bearer tok-root"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
