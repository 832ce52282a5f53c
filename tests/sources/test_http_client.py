"""The HTTP client every live source shares: auth, retries with backoff, time-outs, redacted errors."""

from __future__ import annotations

import pytest
from tests.sources.scripted_server import Scripted, scripted_server

from incidentlens.errors import SourceError
from incidentlens.sources.config import parse_source
from incidentlens.sources.http import HttpClient, redact_url
from incidentlens.sources.protocol import SourceReport


def _client(url: str, **entry: object) -> tuple[HttpClient, SourceReport, list[float]]:
    config = parse_source("prom", {"kind": "prometheus", "url": url, "retry_backoff_seconds": 0, **entry})
    report = SourceReport("prom", "prometheus", redact_url(url))
    slept: list[float] = []
    return HttpClient(config, report, sleep=slept.append), report, slept


def test_bearer_token_and_headers_are_sent() -> None:
    with scripted_server([Scripted(body=b'{"status": "success"}')]) as server:
        client, report, _ = _client(server.url, bearer_token="s3cret", headers={"X-Scope-OrgID": "team-a"})
        with client:
            assert client.get_json("/api/v1/labels") == {"status": "success"}
    seen = server.seen[0]
    assert seen.headers["Authorization"] == "Bearer s3cret"
    assert seen.headers["X-Scope-OrgID"] == "team-a"
    assert report.requests == 1


def test_transient_errors_are_retried_with_backoff_and_retry_after() -> None:
    answers = [Scripted(503, b"overloaded"), Scripted(429, b"slow down", {"Retry-After": "2"}), Scripted(body=b"[1]")]
    with scripted_server(answers) as server:
        client, report, slept = _client(server.url, retries=3)
        with client:
            assert client.get_json("/x") == [1]
    assert report.requests == 3
    assert slept == [0.0, 2.0]  # no backoff configured, then the server's Retry-After


def test_a_permanent_error_names_the_source_status_and_body_but_no_credentials() -> None:
    with scripted_server([Scripted(401, b"invalid token")]) as server:
        url = server.url.replace("http://", "http://user:pw@") + "/?api_key=k3y"
        client, _, _ = _client(url, password="hunter2", username="user", bearer_token="tok-123")
        with client, pytest.raises(SourceError) as info:
            client.get_json("/api/v1/query")
    message = str(info.value)
    assert "prometheus source 'prom'" in message and "HTTP 401" in message and "invalid token" in message
    for secret in ("hunter2", "tok-123", "k3y", "pw@"):
        assert secret not in message


def test_retries_give_up_and_say_how_often() -> None:
    with scripted_server([Scripted(502, b"bad gateway")] * 3) as server:
        client, report, _ = _client(server.url, retries=2)
        with client, pytest.raises(SourceError, match="HTTP 502 after 3 attempts"):
            client.get_json("/x")
    assert report.requests == 3


def test_a_slow_server_times_out() -> None:
    with scripted_server([Scripted(delay=1.0), Scripted(delay=1.0)]) as server:
        client, _, _ = _client(server.url, timeout_seconds=0.2, retries=1)
        with client, pytest.raises(SourceError, match=r"timed out after 0\.2 s"):
            client.get_json("/slow")


def test_invalid_json_is_a_source_error() -> None:
    with scripted_server([Scripted(body=b"<html>login</html>")]) as server:
        client, _, _ = _client(server.url)
        with client, pytest.raises(SourceError, match="invalid JSON"):
            client.get_json("/x")


def test_unreachable_server_is_reported() -> None:
    client, _, _ = _client("http://127.0.0.1:9", retries=0)
    with client, pytest.raises(SourceError, match="cannot connect"):
        client.get_json("/x")


def test_redact_url_drops_user_info_and_secret_parameters() -> None:
    assert redact_url("https://u:p@h.example:8443/p?token=abc&q=up") == "https://h.example:8443/p?token=REDACTED&q=up"
