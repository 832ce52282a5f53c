"""GitHub as a change source: a repository's deployments and its merged pull requests.

Speaks the GitHub REST API, version 2022-11-28 (api.github.com, or GitHub Enterprise Server at
https://HOST/api/v3), with a bearer token (fine-grained or classic, or an app installation token):
  GET /repos/{owner}/{repo}/deployments?per_page=100[&environment=E]   newest first, until older than the window
  GET /repos/{owner}/{repo}/deployments/{id}/statuses?per_page=100     when it succeeded, or its last state
  GET /repos/{owner}/{repo}/pulls?state=closed&sort=updated&direction=desc&per_page=100
                                                                      until updated before the window starts
  GET /repos/{owner}/{repo}/pulls/{number}/files?per_page=100         only with the `services` path mapping
Pages follow the `Link: <...>; rel="next"` header. An exhausted rate limit (403 or 429 with
x-ratelimit-remaining 0, or a Retry-After) is waited out once when the wait fits in `timeout_seconds`;
otherwise it is an error naming the reset time.

Rows (changes; kind deploy, as the analysis has no other kind for code):
  * a deployment: ts = its latest `success` status (else its creation, with its last state in attributes),
    current = "ref (sha7)", previous = the deployment before it in the same environment, commit = its sha,
    author = its creator; attributes event=deployment, environment, state, deployment_id, url.
  * a merged pull request, which is a code change not necessarily deployed: ts = merged_at, description
    "merged PR #N: title (not necessarily deployed)", commit = merge_commit_sha, current = "PR #N", author =
    its author; attributes event=merged_pull_request, number, url, merge_commit_sha, base.
Service: option `service` (default: the repository's name). With `services` (path prefix -> service) a pull
request belongs to every service whose prefix one of its files starts with (`service` when none matches).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson

from incidentlens.errors import SourceError
from incidentlens.ingest.changes import change_row
from incidentlens.ingest.common import parse_time_ns
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.changefeed import Row, RowWriter, inside
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import HttpClient, redact_url
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport

DEFAULT_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
MAX_PAGES = 30  # of 100 items per listing
DEPLOY_SLACK_NS = 3600 * 1_000_000_000  # a deployment created this long before the window may succeed inside it
_OPTIONS = frozenset({"repository", "service", "services", "environment"})
_REPOSITORY = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}\Z")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')

Item = dict[str, Any]


class GitHubSource:
    kind = "github"
    signals = ("changes",)
    live = True

    def __init__(self, config: SourceConfig) -> None:
        config.check_options(_OPTIONS)
        options = config.options
        repository = options.get("repository")
        if not isinstance(repository, str) or not _REPOSITORY.match(repository):
            raise config.option_error("'repository' is required, as owner/name")
        service = options.get("service", repository.split("/")[1])
        if not isinstance(service, str) or not service:
            raise config.option_error("'service' must be the service name this repository builds")
        services = options.get("services", {})
        if not isinstance(services, Mapping) or not all(
            isinstance(k, str) and k.strip("/") and isinstance(v, str) and v for k, v in services.items()
        ):
            raise config.option_error("'services' must map path prefixes (services/cart/) to service names")
        environment = options.get("environment", "")
        if not isinstance(environment, str):
            raise config.option_error("'environment' must be a deployment environment name such as production")
        self.name = config.name
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION, **config.headers}
        self.config = replace(config, url=config.url or DEFAULT_URL, headers=headers)
        self.repository = repository
        self.service = service
        self.services = {k.lstrip("/"): v for k, v in services.items()}
        self.environment = environment

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        started = time.perf_counter()
        report = SourceReport(self.name, self.kind, f"{redact_url(self.config.url)}/repos/{self.repository}")
        if query.services and not self.services and self.service not in query.services:
            report.notes.append(f"{self.repository} builds {self.service}, which this investigation does not ask for")
            return report
        with HttpClient(self.config, report) as client:
            reading = _Reading(self, client, report, query.window)
            rows = reading.deployments(progress) + reading.pull_requests(progress)
        report.seconds = time.perf_counter() - started
        if not reading.usable:
            report.failed = True
            raise SourceError(f"github source {self.name!r}: nothing could be read: " + "; ".join(report.errors))
        writer = RowWriter(query, sink, report, self.config.max_rows)
        writer.add("changes", sorted(rows, key=lambda r: r["ts_ns"]))
        writer.close()
        return report


class _Reading:
    """One load: paged listings with the rate-limit rule, and the rows built from them."""

    def __init__(self, source: GitHubSource, client: HttpClient, report: SourceReport, window: TimeRange):
        self.source = source
        self.client = client
        self.report = report
        self.window = window
        self.repo_path = f"/repos/{source.repository}"
        self.usable = 0  # listings that gave at least something
        self.stopped = ""  # why no more requests are sent (rate limit, no answer)

    def deployments(self, progress: SourceProgress) -> list[Row]:
        progress(f"{self.source.name}: listing deployments of {self.source.repository} (1/2)")
        params: dict[str, Any] = {"per_page": 100}
        if self.source.environment:
            params["environment"] = self.source.environment
        earliest = self.window.start_ns - DEPLOY_SLACK_NS
        found = self._list(f"{self.repo_path}/deployments", params, "deployments", lambda d: _created(d) < earliest)
        candidates = [i for i, d in enumerate(found) if earliest <= _created(d) < self.window.end_ns]
        rows = []
        for count, position in enumerate(candidates, 1):
            progress(f"{self.source.name}: deployment statuses ({count}/{len(candidates)})")
            deployment = found[position]
            later = found[position + 1 :]  # newest first: the deployments made before this one
            previous = next((d for d in later if d.get("environment") == deployment.get("environment")), None)
            row = self._deployment_row(deployment, previous)
            if row is not None and inside(self.window, row["ts_ns"]):
                rows.append(row)
        return rows

    def pull_requests(self, progress: SourceProgress) -> list[Row]:
        progress(f"{self.source.name}: listing merged pull requests of {self.source.repository} (2/2)")
        params = {"state": "closed", "sort": "updated", "direction": "desc", "per_page": 100}
        found = self._list(
            f"{self.repo_path}/pulls",
            params,
            "pull requests",
            lambda pr: (parse_time_ns(pr.get("updated_at")) or 0) < self.window.start_ns,
        )
        rows = []
        for pr in found:
            merged = pr.get("merged_at")
            if not inside(self.window, parse_time_ns(merged) if merged else None):
                continue
            number, title = pr.get("number"), str(pr.get("title") or "").strip()
            record = {
                "kind": "deploy",
                "timestamp": merged,
                "description": f"merged PR #{number}: {title} (not necessarily deployed)",
                "current": f"PR #{number}",
                "commit": pr.get("merge_commit_sha") or "",
                "author": (pr.get("user") or {}).get("login") or "",
                "event": "merged_pull_request",
                "number": number,
                "url": pr.get("html_url"),
                "merge_commit_sha": pr.get("merge_commit_sha"),
                "base": (pr.get("base") or {}).get("ref"),
            }
            source = f"{self.source.name}:{self.repo_path}/pulls/{number}"
            for service in self._pr_services(number):
                rows.append({**change_row({**record, "service": service}), "source": source})
        return rows

    # --- requests -----------------------------------------------------------------------------------------

    def _list(self, path: str, params: dict[str, Any], what: str, older: Callable[[Item], bool]) -> list[Item]:
        """Items of a listing, page by page, until a page ends with an item `older` than needed."""
        found: list[Item] = []
        try:
            for page in self._pages(path, params, what, older):
                found.extend(page)
        except SourceError as exc:
            self.report.errors.append(str(exc) + (f" ({what} incomplete: {len(found)} read)" if found else ""))
            self.usable += bool(found)
            return found
        self.usable += 1
        return found

    def _pages(
        self, path: str, params: dict[str, Any] | None, what: str, older: Callable[[Item], bool]
    ) -> Iterator[list[Item]]:
        for _ in range(MAX_PAGES):
            body, next_path = self._get(path, params)
            if not isinstance(body, list):
                raise self._error(path, "the answer is not a list")
            items = [item for item in body if isinstance(item, dict)]
            yield items
            if next_path is None or not items or older(items[-1]):
                return
            path, params = next_path, None
        self.report.truncated.append(f"{what}: stopped after {MAX_PAGES} pages; older ones were not read")

    def _get(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, str | None]:
        """The JSON answer and the path of the next page; an exhausted rate limit is waited out once if short."""
        if self.stopped:
            raise self._error(path, f"not requested: {self.stopped}")
        for attempt in (1, 2):
            try:
                response = self.client.request("GET", path, params=params)
                break
            except SourceError as exc:
                if exc.status is None:
                    self.stopped = "an earlier request got no answer"
                    raise
                wait = _rate_limit_wait(exc.headers, exc.status)
                if wait is None:
                    raise
                if attempt == 2 or wait > self.source.config.timeout_seconds:
                    resets = datetime.fromtimestamp(time.time() + wait, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    self.stopped = f"the rate limit is exhausted until {resets}"
                    raise SourceError(f"{exc}; the rate limit is exhausted until {resets} (in {wait:.0f} s)") from None
                time.sleep(wait)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise self._error(path, f"invalid JSON ({exc})") from None
        return body, self._next_path(response.headers.get("link", ""))

    def _next_path(self, link: str) -> str | None:
        """The next page's URL as a path under the API's base URL; a link elsewhere is not followed."""
        match = _NEXT.search(link)
        if match is None:
            return None
        url = match.group(1)
        if not url.startswith(self.source.config.url + "/"):
            self.report.errors.append(f"github source {self.source.name!r}: next page {redact_url(url)} not followed")
            return None
        return url[len(self.source.config.url) :]

    def _error(self, path: str, reason: str) -> SourceError:
        where = redact_url(f"{self.source.config.url}{path}")
        return SourceError(f"github source {self.source.name!r}: GET {where}: {reason}")

    # --- rows ---------------------------------------------------------------------------------------------

    def _deployment_row(self, deployment: Item, previous: Item | None) -> Row | None:
        """The deploy change of one deployment: when it succeeded, or when it was made with its last state."""
        number = deployment.get("id")
        try:
            statuses, _ = self._get(f"{self.repo_path}/deployments/{number}/statuses", {"per_page": 100})
        except SourceError as exc:
            self.report.errors.append(str(exc))
            statuses = []
        statuses = [s for s in statuses if isinstance(s, dict)] if isinstance(statuses, list) else []
        success = next((s for s in statuses if s.get("state") == "success"), None)
        state = "success" if success else str(statuses[0].get("state")) if statuses else "unknown"
        environment = str(deployment.get("environment") or "")
        ref, sha = str(deployment.get("ref") or ""), str(deployment.get("sha") or "")
        done = success or {}
        record = {
            "kind": "deploy",
            "service": self.source.service,
            "timestamp": done.get("created_at") or deployment.get("created_at"),
            "description": f"deployment of {ref or sha[:12]} to {environment} ({state})",
            "current": _version(deployment),
            "previous": _version(previous) if previous else "",
            "commit": sha,
            "author": (deployment.get("creator") or {}).get("login") or "",
            "event": "deployment",
            "environment": environment,
            "state": state,
            "deployment_id": number,
            "url": done.get("environment_url") or done.get("target_url") or deployment.get("url"),
        }
        if deployment.get("description"):
            record["deployment_description"] = deployment["description"]
        try:
            row = change_row(record)
        except ValueError as exc:  # a deployment without a readable time
            self.report.errors.append(f"github source {self.source.name!r}: deployment {number}: {exc}")
            return None
        return {**row, "source": f"{self.source.name}:{self.repo_path}/deployments/{number}"}

    def _pr_services(self, number: Any) -> list[str]:
        """The services a pull request changed, by the `services` path prefixes of its first 100 files."""
        if not self.source.services:
            return [self.source.service]
        try:
            files, next_path = self._get(f"{self.repo_path}/pulls/{number}/files", {"per_page": 100})
        except SourceError as exc:
            self.report.errors.append(str(exc))
            return [self.source.service]
        if next_path:
            self.report.notes.append(f"PR #{number} changes more than 100 files: services from the first 100")
        names = [str(f.get("filename") or "") for f in files if isinstance(f, dict)] if isinstance(files, list) else []
        prefixes = sorted(self.source.services, key=len, reverse=True)
        matched = {next((self.source.services[p] for p in prefixes if name.startswith(p)), "") for name in names}
        matched.discard("")
        return sorted(matched) or [self.source.service]


def _created(deployment: Item) -> int:
    return parse_time_ns(deployment.get("created_at")) or 0


def _version(deployment: Item) -> str:
    ref, sha = str(deployment.get("ref") or ""), str(deployment.get("sha") or "")
    return f"{ref} ({sha[:7]})" if ref and ref != sha else sha[:12]


def _rate_limit_wait(headers: Mapping[str, str], status: int | None) -> float | None:
    """Seconds until a 403/429 rate-limit answer may be retried; None when the answer is not a rate limit."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after", "")
    if retry_after.isdigit():
        return float(retry_after)
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return None
