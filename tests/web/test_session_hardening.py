"""Issue 16, items 4, 6 and 7: settings reload, server-side sessions, headers, throttling, Origin, payload
shapes and what error details reveal, against the real app and a real SQLite database."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from incidentlens.errors import RepositoryError
from incidentlens.web.app import create_app
from incidentlens.web.auth import SESSION_COOKIE
from incidentlens.web.settings import hash_token, load_web_settings
from incidentlens.web.throttle import ADDRESS_LIMIT, USER_LIMIT
from incidentlens.web.webhooks import SECRET_HEADER

ACK = "/api/v1/incidents/INC-0001/steps/ack"
AM = "/api/v1/webhooks/alertmanager"
REPO = "/srv/secret-layout/shop-repo"


def _config(alice_roles: str = "responder, approver", alice_token: str = "tok-alice", vic: bool = True) -> str:
    text = f"users:\n  alice: {{roles: [{alice_roles}], token_sha256: {hash_token(alice_token)}}}\n"
    if vic:
        text += f"  vic: {{roles: [viewer], token_sha256: {hash_token('tok-vic')}}}\n"
    text += "web: {webhook_secrets: {alertmanager: am-secret}}\n"
    text += f"repositories: {{shop: {{path: {REPO}}}}}\n"
    return text


def _rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    while path.stat().st_mtime_ns == before:  # coarse clocks: make the change visible
        time.sleep(0.01)
        path.write_text(text)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[TestClient, Path]:
    config = tmp_path / "config.yaml"
    config.write_text(_config())
    settings = load_web_settings(config=config, workspace=tmp_path / "ws", database_url=None)
    return TestClient(create_app(settings, run_worker=False)), config


def _login(client: TestClient, user: str = "alice", token: str = "tok-alice") -> str:
    r = client.post("/login", data={"user": user, "token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    return str(client.cookies[SESSION_COOKIE])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# item 4 -------------------------------------------------------------------------------------------------


def test_a_demotion_in_the_settings_file_takes_effect_without_restart(setup: tuple[TestClient, Path]) -> None:
    client, config = setup
    assert client.post(ACK, json={}, headers=_bearer("tok-alice")).status_code == 404  # allowed; no such incident
    _rewrite(config, _config(alice_roles="viewer"))
    r = client.post(ACK, json={}, headers=_bearer("tok-alice"))
    assert r.status_code == 403 and "needs the role responder or admin" in r.json()["detail"]
    assert client.get("/api/v1/me", headers=_bearer("tok-alice")).json()["roles"] == ["viewer"]


def test_a_revoked_user_or_token_stops_working_without_restart(setup: tuple[TestClient, Path]) -> None:
    client, config = setup
    assert client.get("/api/v1/me", headers=_bearer("tok-vic")).status_code == 200
    _rewrite(config, _config(vic=False, alice_token="tok-alice-2"))
    assert client.get("/api/v1/me", headers=_bearer("tok-vic")).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer("tok-alice")).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer("tok-alice-2")).json()["user"] == "alice"


def test_a_broken_settings_file_keeps_the_previous_settings(
    setup: tuple[TestClient, Path], caplog: pytest.LogCaptureFixture
) -> None:
    client, config = setup
    caplog.set_level(logging.ERROR, logger="incidentlens.web")
    _rewrite(config, "users: [not, a, mapping\n")
    assert client.get("/api/v1/me", headers=_bearer("tok-alice")).status_code == 200
    assert "was not applied" in caplog.text and str(config) in caplog.text


# item 6 -------------------------------------------------------------------------------------------------


def test_logout_revokes_the_session_on_the_server(setup: tuple[TestClient, Path]) -> None:
    client, _ = setup
    cookie = _login(client)
    csrf = client.get("/api/v1/me").json()["csrf"]
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    replay = TestClient(client.app, cookies={SESSION_COOKIE: cookie})
    assert replay.get("/api/v1/me").status_code == 401
    assert replay.post(ACK, json={}, headers={"X-CSRF-Token": csrf}).status_code == 401


def test_a_token_change_ends_older_sessions(setup: tuple[TestClient, Path]) -> None:
    client, config = setup
    _login(client)
    assert client.get("/api/v1/me").status_code == 200
    _rewrite(config, _config(alice_token="tok-alice-2"))
    assert client.get("/api/v1/me").status_code == 401
    _login(client, token="tok-alice-2")
    assert client.get("/api/v1/me").json()["user"] == "alice"


def test_other_sessions_survive_one_logout(setup: tuple[TestClient, Path]) -> None:
    client, _ = setup
    other = TestClient(client.app)
    _login(client)
    _login(other)
    csrf = client.get("/api/v1/me").json()["csrf"]
    client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert other.get("/api/v1/me").status_code == 200


# item 7 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/api/v1/incidents", "/static/htmx.min.js", "/nope", "/incidents"])
def test_security_headers_on_every_response(setup: tuple[TestClient, Path], path: str) -> None:
    client, _ = setup
    r = client.get(path, follow_redirects=False)
    csp = r.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["script-src"] == ["'self'"] and directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in directives.get("default-src", [])
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_login_is_throttled_per_user_even_with_the_right_token(setup: tuple[TestClient, Path]) -> None:
    client, _ = setup
    for _ in range(USER_LIMIT):
        r = client.post("/login", data={"user": "alice", "token": "guess"}, follow_redirects=False)
        assert r.status_code == 303 and "error=invalid" in r.headers["location"]
    r = client.post("/login", data={"user": "alice", "token": "tok-alice"}, follow_redirects=False)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    _login(client, "vic", "tok-vic")  # another user from the same address is not locked out yet


def test_bearer_tokens_and_webhook_secrets_are_throttled_per_address(setup: tuple[TestClient, Path]) -> None:
    client, _ = setup
    for i in range(ADDRESS_LIMIT):
        guess = (
            client.get("/api/v1/me", headers=_bearer(f"guess-{i}"))
            if i % 2
            else client.post(AM, json={}, headers={SECRET_HEADER: f"guess-{i}"})
        )
        assert guess.status_code == 401
    assert client.get("/api/v1/me", headers=_bearer("tok-alice")).status_code == 429
    r = client.post(AM, json={}, headers={SECRET_HEADER: "am-secret"})
    assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"


def test_login_from_another_origin_is_refused(setup: tuple[TestClient, Path]) -> None:
    client, _ = setup
    data = {"user": "alice", "token": "tok-alice"}
    evil = client.post("/login", data=data, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert evil.status_code == 403 and "evil.example" in evil.json()["detail"]
    assert SESSION_COOKIE not in evil.headers.get("set-cookie", "")
    same = client.post("/login", data=data, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert same.status_code == 303


def test_webhook_with_a_non_json_content_type_gets_415(setup: tuple[TestClient, Path]) -> None:
    client, _ = setup
    for media in ("text/plain", "application/x-www-form-urlencoded", ""):
        r = client.post(AM, content=b'{"alerts": []}', headers={SECRET_HEADER: "am-secret", "Content-Type": media})
        assert r.status_code == 415 and "application/json" in r.json()["detail"]


def test_labels_nested_hundreds_deep_get_a_400_problem(setup: tuple[TestClient, Path]) -> None:
    client, _ = setup
    nested: Any = "x"
    for _ in range(600):
        nested = {"a": nested}
    alert = {"status": "firing", "labels": {"alertname": "X", "deep": nested}, "startsAt": "2026-01-01T00:00:00Z"}
    body = json.dumps({"alerts": [alert]}).encode()  # orjson refuses to write past 255 levels
    r = client.post(AM, content=body, headers={SECRET_HEADER: "am-secret", "Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert "nests deeper than" in r.json()["detail"]


def test_error_details_never_echo_the_database_url_or_repository_paths(
    setup: tuple[TestClient, Path], tmp_path: Path
) -> None:
    client, _ = setup

    def broken_git() -> None:
        raise RepositoryError(f"{REPO}: `git rev-parse` failed: fatal: not a git repository: {REPO}/.git")

    client.app.add_api_route("/api/v1/test-broken-git", broken_git)  # type: ignore[attr-defined]
    missing = client.get("/api/v1/incidents/INC-0999", headers=_bearer("tok-alice"))
    assert missing.status_code == 404
    assert str(tmp_path) not in missing.text and "sqlite" not in missing.text
    assert "<database>" in missing.json()["detail"]
    git = client.get("/api/v1/test-broken-git")
    assert git.status_code == 502 and REPO not in git.text and "<repository>" in git.json()["detail"]
