"""Every error becomes an RFC 9457 problem document, mapped in one place."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from incidentlens.errors import (
    AuditIntegrityError,
    ConfigError,
    FormatError,
    IncidentLensError,
    InputError,
    PermissionDeniedError,
    PolicyError,
    RepositoryError,
    StoreError,
    TransitionError,
)
from incidentlens.store.errors import NotFoundError
from incidentlens.web.app import create_app
from incidentlens.web.errors import AuthenticationError, CsrfError, QueueFullError
from incidentlens.web.problems import status_of
from incidentlens.web.settings import hash_token, load_web_settings

H = {"Authorization": "Bearer tok"}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InputError("x"), 400),
        (FormatError("f", "bad"), 400),
        (ConfigError("x"), 400),
        (TransitionError("x"), 409),
        (NotFoundError("x"), 404),
        (StoreError("x"), 503),
        (AuditIntegrityError("x"), 500),
        (RepositoryError("x"), 502),
        (PolicyError("x"), 409),
        (PermissionDeniedError("x"), 403),
        (CsrfError("x"), 403),
        (AuthenticationError("x"), 401),
        (QueueFullError("x", retry_after=5), 503),
        (IncidentLensError("x"), 500),
    ],
)
def test_each_error_class_has_its_status(error: IncidentLensError, status: int) -> None:
    assert status_of(error) == status


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    (tmp_path / "c.yaml").write_text(f"users:\n  ann: {{roles: [admin], token_sha256: {hash_token('tok')}}}\n")
    settings = load_web_settings(config=tmp_path / "c.yaml", workspace=tmp_path, database_url=None)
    return TestClient(create_app(settings, run_worker=False))


def _is_problem(r: object, status: int) -> dict[str, object]:
    assert r.status_code == status  # type: ignore[attr-defined]
    assert r.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = r.json()  # type: ignore[attr-defined]
    assert {"type", "title", "status", "detail", "instance"} <= set(body) and body["status"] == status
    return body


def test_not_found_from_the_store_and_from_routing(client: TestClient) -> None:
    body = _is_problem(client.get("/api/v1/incidents/INC-9999", headers=H), 404)
    assert body["type"] == "urn:incidentlens:problem:not-found" and "INC-9999" in str(body["detail"])
    assert body["instance"] == "/api/v1/incidents/INC-9999"
    assert _is_problem(client.get("/api/v1/nowhere", headers=H), 404)["type"] == "about:blank"


def test_method_not_allowed_and_validation_errors(client: TestClient) -> None:
    _is_problem(client.delete("/api/v1/incidents", headers=H), 405)
    body = _is_problem(client.get("/api/v1/incidents?status=bogus", headers=H), 422)
    assert "status" in str(body["detail"]) and body["errors"]
    body = _is_problem(client.post("/api/v1/incidents/INC-1/assign", json={}, headers=H), 422)
    assert "owner" in str(body["detail"])


def test_input_errors_name_what_is_wrong(client: TestClient) -> None:
    body = _is_problem(client.get("/api/v1/metrics?since=yesterday", headers=H), 400)
    assert "'yesterday'" in str(body["detail"]) and body["exit_code"] == 2
