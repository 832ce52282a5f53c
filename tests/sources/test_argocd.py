"""The Argo CD source against a local server speaking the applications API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from incidentlens.errors import ConfigError, SourceError
from incidentlens.ingest.common import parse_time_ns
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.argocd import ArgoCDSource
from incidentlens.sources.config import parse_source
from incidentlens.sources.protocol import SourceQuery, SourceReport
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.store import TelemetryStore

from .argocd_server import ArgoCDApi, grpc_error

TOKEN = "argocd-test-token-c2VjcmV0"
CART_SHA = "3f2c9a1e0b7d4c6a8e5f1b2d3c4a5e6f7a8b9c0d"


def ns(text: str) -> int:
    value = parse_time_ns(text)
    assert value is not None
    return value


QUERY = SourceQuery(
    window=TimeRange(ns("2026-11-28T03:00:00Z"), ns("2026-11-28T05:00:00Z")),
    incident=TimeRange(ns("2026-11-28T04:10:00Z"), ns("2026-11-28T05:00:00Z")),
)


@pytest.fixture
def api() -> Iterator[ArgoCDApi]:
    with ArgoCDApi(TOKEN) as server:
        yield server  # type: ignore[misc]


def source(url: str, **options: Any) -> ArgoCDSource:
    entry = {"kind": "argocd", "url": url, "bearer_token": TOKEN, "retries": 0, "retry_backoff_seconds": 0}
    built = build_source(parse_source("argo", {**entry, **options}))
    assert isinstance(built, ArgoCDSource)
    return built


def load(src: ArgoCDSource, query: SourceQuery = QUERY) -> tuple[RowSink, SourceReport]:
    sink = RowSink()
    return sink, src.load(query, sink, lambda line: None)


def stored(sink: RowSink) -> list[dict[str, Any]]:
    columns = ("ts_ns", "service", "kind", "description", "author", "commit", "previous", "current", "attributes")
    with TelemetryStore() as store:
        store.append(sink)
        quoted = ", ".join(f'"{c}"' for c in columns)
        rows = store.rows(f"SELECT {quoted}, source FROM changes ORDER BY ts_ns")
    return [dict(zip((*columns, "source"), row, strict=True)) for row in rows]


def test_history_and_unfinished_operations_load_into_the_store(api: ArgoCDApi) -> None:
    sink, report = load(source(api.url))
    ad, cart, checkout, payment = stored(sink)

    assert cart == {
        "ts_ns": ns("2026-11-28T04:04:52Z"),
        "service": "cart",
        "kind": "deploy",
        "description": "cart: synced deploy/apps/cart to 3f2c9a1e0b7d",
        "author": "alice",
        "commit": CART_SHA,
        "previous": "c3d4e5f60718293a4b5c6d7e8f901234567890ab",
        "current": CART_SHA,
        "attributes": cart["attributes"],
        "source": "argo:/api/v1/applications/cart#history-16",
    }
    assert json.loads(cart["attributes"]) == {
        "app": "cart",
        "project": "shop",
        "namespace": "shop",
        "history_id": 16,
        "deploy_started_at": "2026-11-28T04:04:41Z",
        "repo_url": "https://github.com/shop/deploy.git",
        "path": "apps/cart",
        "target_revision": "main",
    }
    assert checkout["description"] == "checkout: synced chart checkout + deploy to 2.4.1, 5e6f7a8b9c0d"
    assert checkout["current"] == "2.4.1, 5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"
    assert checkout["previous"] == "2.4.0, 9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
    assert (checkout["commit"], checkout["author"]) == ("5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f", "automated")

    assert ad["ts_ns"] == ns("2026-11-28T03:49:30Z")  # when the failed sync started
    assert ad["description"].startswith('ad: sync failed: one or more objects failed to apply, reason: ConfigMap "ad')
    assert (ad["previous"], ad["current"], ad["author"]) == (
        "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e",
        "7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c",
        "bob",
    )
    attributes = json.loads(ad["attributes"])
    assert (attributes["phase"], attributes["finished_at"]) == ("Failed", "2026-11-28T03:49:58Z")
    assert ad["source"] == "argo:/api/v1/applications/ad#operation"
    assert payment["description"] == "payment: sync running: waiting for healthy state of apps/Deployment/payment"
    assert payment["previous"] == "2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"

    assert report.rows == {"changes": 4}
    assert report.services == ["ad", "cart", "checkout", "payment"]
    assert (report.first_ns, report.last_ns) == (ns("2026-11-28T03:49:30Z"), ns("2026-11-28T04:30:10Z"))
    assert report.notes == ["4 applications read"] and report.errors == [] and report.requests == 1
    (request,) = api.requests
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_projects_selector_and_service_names(api: ArgoCDApi) -> None:
    src = source(
        api.url,
        projects=["shop", "payments"],
        selector="team=shop",
        service_label="app.kubernetes.io/name",
        services={"checkout": "checkout-api"},
    )
    sink, _ = load(src)
    assert [(r["service"], r["kind"]) for r in stored(sink)] == [("cart-service", "deploy"), ("checkout-api", "deploy")]
    (request,) = api.requests
    assert (request.query["projects"], request.query["selector"]) == (["shop", "payments"], ["team=shop"])


def test_a_window_without_syncs_and_an_empty_list_give_no_rows(api: ArgoCDApi) -> None:
    early = SourceQuery(TimeRange(ns("2026-01-01T00:00:00Z"), ns("2026-01-02T00:00:00Z")), QUERY.incident)
    assert load(source(api.url), early)[1].rows == {}
    _, report = load(source(api.url, selector="team=nobody"))  # argocd-server leaves `items` out
    assert (report.rows, report.notes, report.errors) == ({}, ["0 applications read"], [])


def test_permission_denied_is_a_source_error_with_the_api_message(api: ArgoCDApi) -> None:
    api.forbidden = True
    with pytest.raises(SourceError) as caught:
        load(source(api.url))
    message = str(caught.value)
    assert message.startswith(f"argocd source 'argo': GET {api.url}/api/v1/applications: HTTP 403: ")
    assert '"code":7,"message":"permission denied"' in message and TOKEN not in message


def test_a_bad_token_is_refused_without_showing_it(api: ArgoCDApi) -> None:
    with pytest.raises(SourceError, match=r"HTTP 401.*token signature is invalid") as caught:
        load(source(api.url, bearer_token="not-the-token-dG9wc2VjcmV0"))
    assert "not-the-token-dG9wc2VjcmV0" not in str(caught.value) and TOKEN not in str(caught.value)


def test_a_server_error_is_retried_then_succeeds(api: ArgoCDApi) -> None:
    api.fail_next = [grpc_error(503, 14, "connection to the repo-server is unavailable")]
    _, report = load(source(api.url, retries=1))
    assert report.rows == {"changes": 4} and report.requests == 2


def test_a_server_error_that_persists_is_a_source_error(api: ArgoCDApi) -> None:
    api.fail_next = [grpc_error(503, 14, "unavailable")] * 3
    with pytest.raises(SourceError, match="HTTP 503 after 3 attempts"):
        load(source(api.url, retries=2))


def test_a_slow_server_times_out(api: ArgoCDApi) -> None:
    api.delay_seconds = 2.0
    with pytest.raises(SourceError, match=r"/api/v1/applications: timed out after 0.2 s"):
        load(source(api.url, timeout_seconds=0.2))


def test_row_cap_is_reported(api: ArgoCDApi) -> None:
    sink, report = load(source(api.url, max_rows=2))
    assert [r["service"] for r in stored(sink)] == ["ad", "cart"]
    assert report.truncated == ["rows capped at 2 (max_rows); 2 more were not loaded"]


def test_an_answer_that_is_not_an_application_list_is_a_source_error(api: ArgoCDApi) -> None:
    api.fail_next = [grpc_error(200, 0, "")]
    api.fail_next[0].body = ["not", "a", "list"]
    with pytest.raises(SourceError, match="the answer is not an application list"):
        load(source(api.url))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"projects": "shop"}, "'projects' must be a list"),
        ({"services": {"cart": 1}}, "'services' must map application names"),
        ({"service_label": ["a"]}, "'service_label'"),
        ({"url": None}, "'url' .* is required"),
        ({"namespaces": ["shop"]}, r"unknown key\(s\) namespaces for kind 'argocd'"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    entry = {"kind": "argocd", "url": "https://argocd.example.com", **options}
    with pytest.raises(ConfigError, match=message):
        build_source(parse_source("argo", {k: v for k, v in entry.items() if v is not None}))
