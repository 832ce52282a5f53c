"""Login, sessions, bearer tokens and CSRF against the real app and a real SQLite database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from incidentlens.web.app import create_app
from incidentlens.web.auth import SESSION_COOKIE, read_session, safe_next, sign_session
from incidentlens.web.settings import hash_token, load_web_settings

TOKENS = {"alice": "tok-alice", "vic": "tok-vic"}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    (tmp_path / "config.yaml").write_text(
        "users:\n"
        f"  alice: {{roles: [responder, approver], token_sha256: {hash_token(TOKENS['alice'])}}}\n"
        f"  vic: {{roles: [viewer], token_sha256: {hash_token(TOKENS['vic'])}}}\n"
    )
    settings = load_web_settings(config=tmp_path / "config.yaml", workspace=tmp_path, database_url=None)
    return TestClient(create_app(settings, run_worker=False))


def _login(client: TestClient, user: str = "alice", next_: str = "/incidents") -> None:
    r = client.post("/login", data={"user": user, "token": TOKENS[user], "next": next_}, follow_redirects=False)
    assert r.status_code == 303


def test_login_sets_a_signed_httponly_lax_cookie_and_redirects_to_next(client: TestClient) -> None:
    r = client.post(
        "/login", data={"user": "alice", "token": "tok-alice", "next": "/incidents"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/incidents"
    cookie = r.headers["set-cookie"].lower()
    assert SESSION_COOKIE in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "tok-alice" not in r.headers["set-cookie"]
    me = client.get("/api/v1/me").json()
    assert me["user"] == "alice" and me["roles"] == ["approver", "responder"] and len(me["csrf"]) > 20


def test_wrong_token_or_token_of_another_user_does_not_log_in(client: TestClient) -> None:
    for user, token in (("alice", "nope"), ("alice", "tok-vic"), ("mallory", "tok-alice")):
        r = client.post("/login", data={"user": user, "token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?error=invalid")
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    assert client.get("/api/v1/me").status_code == 401


def test_next_is_only_ever_a_local_path() -> None:
    assert safe_next("/incidents/INC-0001") == "/incidents/INC-0001"
    for bad in ("https://evil.example", "//evil.example", "/\\evil", "", None, "javascript:alert(1)"):
        assert safe_next(bad) == "/"


def test_cookie_mutation_needs_the_csrf_token_bearer_calls_do_not(client: TestClient) -> None:
    _login(client)
    assert client.post("/api/v1/incidents/INC-0001/steps/ack", json={}).status_code == 403
    wrong = client.post("/api/v1/incidents/INC-0001/steps/ack", json={}, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403 and "CSRF" in wrong.json()["detail"]
    csrf = client.get("/api/v1/me").json()["csrf"]
    right = client.post("/api/v1/incidents/INC-0001/steps/ack", json={}, headers={"X-CSRF-Token": csrf})
    assert right.status_code == 404  # past auth and CSRF: the incident does not exist
    bearer = TestClient(client.app).post(
        "/api/v1/incidents/INC-0001/steps/ack", json={}, headers={"Authorization": "Bearer tok-alice"}
    )
    assert bearer.status_code == 404


def test_roles_are_checked_401_without_login_403_without_role(client: TestClient) -> None:
    r = client.post("/api/v1/incidents/INC-0001/steps/ack", json={})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    r = client.post("/api/v1/incidents/INC-0001/steps/ack", json={}, headers={"Authorization": "Bearer tok-vic"})
    assert r.status_code == 403 and "needs the role responder or admin" in r.json()["detail"]
    assert client.get("/api/v1/incidents", headers={"Authorization": "Bearer tok-vic"}).status_code == 200
    assert client.get("/api/v1/incidents", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_forged_tampered_and_expired_sessions_are_rejected(client: TestClient) -> None:
    key = client.app.state.secret_key  # type: ignore[attr-defined]
    good = sign_session(key, user="alice", csrf="c", expires=int(time.time()) + 60)
    assert read_session(key, good) is not None
    body, _, mac = good.partition(".")
    assert read_session(key, f"{body}x.{mac}") is None
    assert read_session(b"another-key", good) is None
    assert read_session(key, sign_session(key, user="alice", csrf="c", expires=int(time.time()) - 1)) is None
    assert read_session(key, "garbage") is None
    forged = sign_session(b"attacker", user="alice", csrf="c", expires=int(time.time()) + 60)
    client.cookies.set(SESSION_COOKIE, forged)
    assert client.get("/api/v1/me").status_code == 401


def test_logout_clears_the_session(client: TestClient) -> None:
    _login(client)
    csrf = client.get("/api/v1/me").json()["csrf"]
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.clear()
    client.cookies.update({k: v for k, v in r.cookies.items() if v})
    assert client.get("/api/v1/me").status_code == 401


def test_secret_key_is_generated_once_and_kept_in_the_database(tmp_path: Path) -> None:
    settings = load_web_settings(config=None, workspace=tmp_path, database_url=None)
    first = create_app(settings, run_worker=False).state.secret_key
    second = create_app(settings, run_worker=False).state.secret_key
    assert first == second and len(first) == 32
