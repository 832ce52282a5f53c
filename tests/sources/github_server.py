"""A fake GitHub REST API over samples/github-storefront.json (one repository).

Answers the endpoints the GitHub source reads as api.github.com does: `/repos/{owner}/{repo}/...` and the
`/repositories/{id}/...` form its `Link` headers point at, `per_page`/`page` with `Link: <...>; rel="next"`
(a smaller `max_per_page` forces paging), `environment` filtering, a bearer token, x-ratelimit-* headers,
and `{"message", "documentation_url", "status"}` error bodies (401 Bad credentials, 403 rate limit or missing
permission, 404 Not Found).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

from .change_api_server import Answer, ApiServer, Request

SAMPLES = Path(__file__).parent / "samples"
DOCS = "https://docs.github.com/rest"
_ROUTE = re.compile(
    r"^/(?:repos/(?P<full>[^/]+/[^/]+)|repositories/(?P<id>\d+))"
    r"/(?P<what>deployments|pulls)(?:/(?P<number>\d+)/(?P<sub>statuses|files))?$"
)


def github_error(status: int, message: str, documentation_url: str = DOCS, **headers: str) -> Answer:
    return Answer(status, {"message": message, "documentation_url": documentation_url, "status": str(status)}, headers)


class GitHubApi(ApiServer):
    def __init__(self, token: str = "ghp_testTokenc2VjcmV0c2VjcmV0c2VjcmV0") -> None:
        super().__init__()
        self.token = token
        self.data: dict[str, Any] = orjson.loads((SAMPLES / "github-storefront.json").read_bytes())
        self.max_per_page = 100
        self.no_deployment_permission = False
        self.rate_limited = 0  # how many requests answer 403 with an exhausted rate limit
        self.rate_limit_reset_in = 0  # seconds from now to x-ratelimit-reset in those answers
        self.next_link_host = ""  # send `Link` next URLs to another host (must not be followed)

    def handle(self, request: Request) -> Answer:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return github_error(401, "Bad credentials")
        if self.rate_limited:
            self.rate_limited -= 1
            return github_error(
                403,
                "API rate limit exceeded for user ID 1203. If you reach out to GitHub Support for help, please "
                "include the request ID D1F2:3A4B:5C6D7E:8F9A0B:6748C0DE.",
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                **self._limits(remaining=0),
            )
        prefix = "/api/v3" if request.path.startswith("/api/v3/") else ""  # GitHub Enterprise Server
        route = _ROUTE.match(request.path.removeprefix(prefix))
        repo = self.data["repository"]
        if (
            route is None
            or (route["full"] or repo["full_name"]) != repo["full_name"]
            or (route["id"] or str(repo["id"])) != str(repo["id"])
        ):
            return github_error(404, "Not Found")
        what, number, sub = route["what"], route["number"], route["sub"]
        if what == "deployments" and self.no_deployment_permission:
            return github_error(
                403,
                "Resource not accessible by personal access token",
                "https://docs.github.com/rest/deployments/deployments#list-deployments",
            )
        if sub == "statuses":
            items = self.data["statuses"].get(number, [])
        elif sub == "files":
            items = self.data["files"].get(number, [])
        elif what == "deployments":
            environment = request.arg("environment")
            items = [d for d in self.data["deployments"] if not environment or d["environment"] == environment]
        else:
            assert (request.arg("state"), request.arg("sort"), request.arg("direction")) == (
                "closed",
                "updated",
                "desc",
            )
            items = self.data["pulls"]
        per_page = min(int(request.arg("per_page", "30")), self.max_per_page)
        page = int(request.arg("page", "1"))
        headers = self._limits(remaining=4999 - len(self.requests))
        if page * per_page < len(items):
            query = {k: v[0] for k, v in request.query.items() if k != "page"}
            base = (self.next_link_host or self.url) + prefix
            path = f"/repositories/{repo['id']}/{what}" + (f"/{number}/{sub}" if sub else "")
            last = -(-len(items) // per_page)
            headers["Link"] = (
                f'<{base}{path}?{urlencode(query | {"page": page + 1})}>; rel="next", '
                f'<{base}{path}?{urlencode(query | {"page": last})}>; rel="last"'
            )
        return Answer(200, items[(page - 1) * per_page : page * per_page], headers)

    def _limits(self, *, remaining: int) -> dict[str, str]:
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(max(remaining, 0)),
            "x-ratelimit-reset": str(int(time.time()) + self.rate_limit_reset_in),
            "x-ratelimit-used": str(5000 - max(remaining, 0)),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }
