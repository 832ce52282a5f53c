"""The GitHub source against a local server speaking the REST API (deployments, pulls, Link paging)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from incidentlens.errors import ConfigError, SourceError
from incidentlens.ingest.common import parse_time_ns
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.config import parse_source
from incidentlens.sources.github import GitHubSource
from incidentlens.sources.protocol import SourceQuery, SourceReport
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.store import TelemetryStore

from .github_server import GitHubApi, github_error

TOKEN = "ghp_testTokenc2VjcmV0c2VjcmV0c2VjcmV0"
REPO_ID = 318812377


def ns(text: str) -> int:
    value = parse_time_ns(text)
    assert value is not None
    return value


QUERY = SourceQuery(
    window=TimeRange(ns("2026-11-28T03:00:00Z"), ns("2026-11-28T05:00:00Z")),
    incident=TimeRange(ns("2026-11-28T04:10:00Z"), ns("2026-11-28T05:00:00Z")),
)


@pytest.fixture
def api() -> Iterator[GitHubApi]:
    with GitHubApi(TOKEN) as server:
        yield server  # type: ignore[misc]


def source(url: str, **options: Any) -> GitHubSource:
    entry = {
        "kind": "github",
        "url": url,
        "bearer_token": TOKEN,
        "repository": "shop/storefront",
        "retries": 0,
        "retry_backoff_seconds": 0,
    }
    built = build_source(parse_source("gh", {**entry, **options}))
    assert isinstance(built, GitHubSource)
    return built


def load(src: GitHubSource, query: SourceQuery = QUERY) -> tuple[RowSink, SourceReport, list[str]]:
    sink, seen = RowSink(), []
    return sink, src.load(query, sink, seen.append), seen


def stored(sink: RowSink) -> list[dict[str, Any]]:
    columns = ("ts_ns", "service", "kind", "description", "author", "commit", "previous", "current", "attributes")
    quoted = ", ".join(f'"{c}"' for c in columns)
    with TelemetryStore() as store:
        store.append(sink)
        rows = store.rows(f"SELECT {quoted}, source FROM changes ORDER BY ts_ns")
    return [dict(zip((*columns, "source"), row, strict=True)) for row in rows]


def test_deployments_and_merged_pull_requests_load_into_the_store(api: GitHubApi) -> None:
    api.max_per_page = 2
    sink, report, progress = load(source(api.url))
    rows = stored(sink)

    assert [(r["ts_ns"], r["current"]) for r in rows] == [
        (ns("2026-11-28T03:10:00Z"), "PR #409"),
        (ns("2026-11-28T03:20:00Z"), "PR #410"),
        (ns("2026-11-28T03:40:00Z"), "main (8d7c6b5)"),
        (ns("2026-11-28T04:01:30Z"), "PR #412"),
        (ns("2026-11-28T04:05:00Z"), "v1.8.0 (3f2c9a1)"),  # when its success status came
    ]
    assert {(r["service"], r["kind"]) for r in rows} == {("storefront", "deploy")}
    staging, pr, production = rows[2], rows[3], rows[4]
    assert production == {
        "ts_ns": ns("2026-11-28T04:05:00Z"),
        "service": "storefront",
        "kind": "deploy",
        "description": "deployment of v1.8.0 to production (success)",
        "author": "github-actions[bot]",
        "commit": "3f2c9a1e0b7d4c6a8e5f1b2d3c4a5e6f7a8b9c0d",
        "previous": "v1.7.3 (c3d4e5f)",
        "current": "v1.8.0 (3f2c9a1)",
        "attributes": production["attributes"],
        "source": "gh:/repos/shop/storefront/deployments/1893002",
    }
    assert json.loads(production["attributes"]) == {
        "event": "deployment",
        "environment": "production",
        "state": "success",
        "deployment_id": 1893002,
        "url": "https://shop.example.com",
        "deployment_description": "Deploy v1.8.0",
    }
    assert (staging["previous"], json.loads(staging["attributes"])["state"]) == ("", "failure")
    assert pr["description"] == "merged PR #412: cart: switch Redis client to valkey-go (not necessarily deployed)"
    assert (pr["commit"], pr["author"], pr["previous"]) == ("3f2c9a1e0b7d4c6a8e5f1b2d3c4a5e6f7a8b9c0d", "alice", "")
    assert json.loads(pr["attributes"]) == {
        "event": "merged_pull_request",
        "number": 412,
        "url": "https://github.com/shop/storefront/pull/412",
        "merge_commit_sha": "3f2c9a1e0b7d4c6a8e5f1b2d3c4a5e6f7a8b9c0d",
        "base": "main",
    }

    paths = [(r.path, r.arg("page")) for r in api.requests]
    assert paths == [
        ("/repos/shop/storefront/deployments", ""),
        (f"/repositories/{REPO_ID}/deployments", "2"),  # stops: its last deployment is older than the window
        ("/repos/shop/storefront/deployments/1893002/statuses", ""),
        ("/repos/shop/storefront/deployments/1893001/statuses", ""),
        ("/repos/shop/storefront/pulls", ""),
        (f"/repositories/{REPO_ID}/pulls", "2"),
        (f"/repositories/{REPO_ID}/pulls", "3"),  # stops: its last PR was updated before the window
    ]
    pulls = api.requests[4]
    assert {k: pulls.arg(k) for k in ("state", "sort", "direction", "per_page")} == {
        "state": "closed",
        "sort": "updated",
        "direction": "desc",
        "per_page": "100",
    }
    first = api.requests[0]
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["accept"] == "application/vnd.github+json"
    assert first.headers["x-github-api-version"] == "2022-11-28"
    assert report.rows == {"changes": 5} and report.requests == 7 and report.errors == []
    assert report.target == f"{api.url}/repos/shop/storefront" and report.services == ["storefront"]
    assert progress[0] == "gh: listing deployments of shop/storefront (1/2)"


def test_services_come_from_the_files_a_pull_request_changed(api: GitHubApi) -> None:
    src = source(api.url, service="shop", services={"services/cart/": "cart", "/services/checkout/": "checkout"})
    sink, report, _ = load(src)
    prs = [(r["current"], r["service"]) for r in stored(sink) if r["current"].startswith("PR")]
    assert prs == [("PR #409", "shop"), ("PR #410", "checkout"), ("PR #412", "cart"), ("PR #412", "checkout")]
    assert report.services == ["cart", "checkout", "shop"]
    assert {r.path for r in api.requests if r.path.endswith("/files")} == {
        f"/repos/shop/storefront/pulls/{n}/files" for n in (409, 410, 412)
    }


def test_environment_and_query_services_narrow_what_is_read(api: GitHubApi) -> None:
    sink, _, _ = load(source(api.url, environment="production"))
    assert [r["current"] for r in stored(sink) if not r["current"].startswith("PR")] == ["v1.8.0 (3f2c9a1)"]
    assert api.requests[0].arg("environment") == "production"

    api.requests.clear()
    _, report, _ = load(source(api.url), SourceQuery(QUERY.window, QUERY.incident, services=("cart",)))
    assert api.requests == [] and report.rows == {}
    assert report.notes == ["shop/storefront builds storefront, which this investigation does not ask for"]


def test_github_enterprise_base_url_and_paging(api: GitHubApi) -> None:
    api.max_per_page = 3
    _, report, _ = load(source(f"{api.url}/api/v3"))
    assert report.rows == {"changes": 5} and report.errors == []
    assert api.requests[1].path == f"/api/v3/repositories/{REPO_ID}/deployments"


def test_a_short_rate_limit_is_waited_out_once(api: GitHubApi) -> None:
    api.rate_limited, api.rate_limit_reset_in = 1, 0
    _, report, _ = load(source(api.url))
    assert report.rows == {"changes": 5} and report.errors == []
    assert report.requests == 5  # the refused request, again, then the other three


def test_a_long_rate_limit_is_an_error_naming_the_reset_time(api: GitHubApi) -> None:
    api.rate_limited, api.rate_limit_reset_in = 100, 3600
    with pytest.raises(SourceError) as caught:
        load(source(api.url))
    message = str(caught.value)
    assert "HTTP 403" in message and "API rate limit exceeded for user ID 1203" in message
    assert re.search(r"the rate limit is exhausted until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 3[56]\d\d s\)", message)
    assert len(api.requests) == 1  # nothing more is sent once the limit is known to be exhausted
    assert TOKEN not in message


def test_a_missing_permission_is_reported_and_the_rest_still_loads(api: GitHubApi) -> None:
    api.no_deployment_permission = True
    sink, report, _ = load(source(api.url))
    (error,) = report.errors
    assert "GET " + api.url + "/repos/shop/storefront/deployments: HTTP 403" in error
    assert "Resource not accessible by personal access token" in error
    assert [r["current"] for r in stored(sink)] == ["PR #409", "PR #410", "PR #412"]


def test_bad_credentials_fail_without_showing_the_token(api: GitHubApi) -> None:
    with pytest.raises(SourceError, match=r"nothing could be read: .*HTTP 401.*Bad credentials") as caught:
        load(source(api.url, bearer_token="ghp_wrongTokendG9wc2VjcmV0"))
    assert "ghp_wrongTokendG9wc2VjcmV0" not in str(caught.value) and TOKEN not in str(caught.value)


def test_a_server_error_is_retried_then_succeeds(api: GitHubApi) -> None:
    api.fail_next = [github_error(502, "Server Error")]
    _, report, _ = load(source(api.url, retries=1))
    assert report.rows == {"changes": 5} and report.errors == [] and report.requests == 5


def test_a_slow_server_times_out_once(api: GitHubApi) -> None:
    api.delay_seconds = 2.0
    with pytest.raises(SourceError, match=r"/repos/shop/storefront/deployments: timed out after 0.2 s"):
        load(source(api.url, timeout_seconds=0.2))
    assert len(api.requests) == 1


def test_row_cap_is_reported(api: GitHubApi) -> None:
    sink, report, _ = load(source(api.url, max_rows=2))
    assert len(stored(sink)) == 2
    assert report.truncated == ["rows capped at 2 (max_rows); 3 more were not loaded"]


def test_a_next_link_to_another_host_is_not_followed(api: GitHubApi) -> None:
    api.max_per_page, api.next_link_host = 2, "https://elsewhere.example"
    _, report, _ = load(source(api.url))
    assert len(api.requests) == 3 and report.rows == {"changes": 2}  # first pages and one deployment's statuses
    assert report.errors == [
        f"github source 'gh': next page https://elsewhere.example/repositories/{REPO_ID}/deployments"
        "?per_page=100&page=2 not followed",
        f"github source 'gh': next page https://elsewhere.example/repositories/{REPO_ID}/pulls"
        "?state=closed&sort=updated&direction=desc&per_page=100&page=2 not followed",
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"repository": None}, "'repository' is required, as owner/name"),
        ({"repository": "https://github.com/shop/storefront"}, "'repository' is required, as owner/name"),
        ({"services": {"services/cart/": ""}}, "'services' must map path prefixes"),
        ({"service": 3}, "'service' must be"),
        ({"environment": ["production"]}, "'environment' must be"),
        ({"projects": ["x"]}, r"unknown key\(s\) projects for kind 'github'"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    entry = {"kind": "github", "repository": "shop/storefront", **options}
    with pytest.raises(ConfigError, match=message):
        build_source(parse_source("gh", {k: v for k, v in entry.items() if v is not None}))


def test_the_default_base_url_is_api_github_com() -> None:
    src = build_source(parse_source("gh", {"kind": "github", "repository": "shop/storefront"}))
    assert isinstance(src, GitHubSource) and src.config.url == "https://api.github.com"
