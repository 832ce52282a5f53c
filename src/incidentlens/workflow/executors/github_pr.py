"""The github_pr executor: opens a DRAFT pull request for a pushed fix branch; it never merges.

POST /repos/{owner}/{repo}/pulls with draft=true through httpx, a Bearer token read from the
environment variable the settings name, and explicit timeouts.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from incidentlens.errors import ConfigError, PolicyError, RepositoryError
from incidentlens.model.approval import Approval
from incidentlens.workflow.executors.base import ExecutionTarget, require_approval
from incidentlens.workflow.validate import GitHubConfig, RepoConfig, repo_config

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
API_VERSION = "2022-11-28"


def _setup(target: ExecutionTarget) -> tuple[RepoConfig, GitHubConfig, str, str]:
    cfg = repo_config(target.settings, target.proposal.service, recorded=target.repository)
    assert cfg is not None  # required=True raises instead
    if cfg.github is None:
        raise ConfigError(f"repositories.{cfg.name}.github is not configured (owner, repo, token_env)")
    token = os.environ.get(cfg.github.token_env, "")
    if not token:
        raise ConfigError(
            f"environment variable {cfg.github.token_env} (repositories.{cfg.name}.github.token_env) is empty"
        )
    branches = [
        str(e.result.get("branch"))
        for e in target.previous
        if e.executor == "git_branch" and e.ok and e.result.get("pushed")
    ]
    if not branches:
        raise PolicyError(
            f"{target.proposal.id}: no pushed fix branch yet; run the git_branch executor with push: true first"
        )
    return cfg, cfg.github, token, branches[-1]


class GitHubPullRequestExecutor:
    name = "github_pr"
    once_per_approval_set = False

    def preflight(self, target: ExecutionTarget) -> None:
        _setup(target)

    def run(self, target: ExecutionTarget, approval: Approval) -> dict[str, Any]:
        require_approval(approval, target.proposal)
        cfg, gh, token, branch = _setup(target)
        p = target.proposal
        body = (
            f"**SUGGESTION by IncidentLens for {target.incident_id}**"
            " (draft: review, test and merge are for humans)\n\n"
            f"{p.rationale}\n\nRisk: {p.risk}. Evidence: {', '.join(p.evidence_ids)}.\n"
            + (f"\nPrediction: {p.prediction.statement}\n" if p.prediction else "")
            + f"\nApproved by: {', '.join(approval.approvers)} (approval {approval.id}).\n"
        )
        payload = {
            "title": f"[{target.incident_id}] {p.title}",
            "head": branch,
            "base": cfg.default_branch,
            "body": body,
            "draft": True,
        }
        url = f"{gh.api_url}/repos/{gh.owner}/{gh.repo}/pulls"
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "incidentlens",
        }
        try:
            with httpx.Client(timeout=TIMEOUT) as client:
                response = client.post(url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise RepositoryError(f"GitHub API {url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 201:
            raise RepositoryError(f"GitHub API {url} answered {response.status_code}: {response.text[:300]}")
        data = response.json()
        return {
            "url": str(data.get("html_url", "")),
            "number": data.get("number"),
            "draft": bool(data.get("draft")),
            "head": branch,
        }
