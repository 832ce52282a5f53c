"""The git_branch executor: commits the fix on a new branch `incidentlens/<incident>-<proposal>`.

Works in a scratch worktree, so the user's checkout and the default branch are never touched; pushes
only when the repository's settings say `push: true`. A failure removes the half-made branch.
"""

from __future__ import annotations

from typing import Any

from incidentlens.errors import PolicyError, RepositoryError
from incidentlens.locate.git import Git, open_repository, rev_arg, scratch_worktree
from incidentlens.model.approval import Approval
from incidentlens.workflow.executors.base import ExecutionTarget, require_approval
from incidentlens.workflow.validate import RepoConfig, repo_config

AUTHOR_NAME = "IncidentLens"
AUTHOR_EMAIL = "incidentlens@localhost"


def branch_name(incident_id: str, proposal_id: str) -> str:
    """`incidentlens/INC-0001-F2` for proposal INC-0001-F2 of INC-0001."""
    return f"incidentlens/{incident_id}-{proposal_id.removeprefix(incident_id + '-')}"


def _config(target: ExecutionTarget) -> RepoConfig:
    if not target.proposal.diff:
        raise PolicyError(f"{target.proposal.id} has no diff (an action spec): use the command executor")
    cfg = repo_config(target.settings, target.proposal.service, recorded=target.repository)
    assert cfg is not None  # required=True raises instead
    return cfg


def _branch_exists(git: Git, branch: str) -> bool:
    return git.verify_commit(f"refs/heads/{branch}") is not None


class GitBranchExecutor:
    name = "git_branch"
    once_per_approval_set = False

    def preflight(self, target: ExecutionTarget) -> None:
        cfg = _config(target)
        git = open_repository(cfg.path)
        branch = branch_name(target.incident_id, target.proposal.id)
        if _branch_exists(git, branch):
            raise RepositoryError(f"{cfg.path}: branch {branch} already exists; delete it or review it first")

    def run(self, target: ExecutionTarget, approval: Approval) -> dict[str, Any]:
        require_approval(approval, target.proposal)
        cfg = _config(target)
        git = open_repository(cfg.path)
        proposal = target.proposal
        branch = branch_name(target.incident_id, proposal.id)
        base = git.commit_of(proposal.base_commit or cfg.default_branch)
        message = (
            f"{proposal.title}\n\n{proposal.rationale}\n\n"
            f"Incident: {target.incident_id}\nProposal: {proposal.id}\n"
            f"Approved-by: {', '.join(approval.approvers)}\nApproval: {approval.id}\n"
            f"Evidence: {', '.join(proposal.evidence_ids)}\n"
        )
        try:
            with scratch_worktree(git, base, branch=branch) as tree:
                reason = tree.apply_check(proposal.diff)
                if reason:
                    raise RepositoryError(f"{cfg.path}: the fix no longer applies to {base[:12]}: {reason}")
                tree.run("apply", "--index", "-", stdin=proposal.diff.encode())
                sha = tree.commit_all(message, name=AUTHOR_NAME, email=AUTHOR_EMAIL)
        except RepositoryError:
            if _branch_exists(git, branch):
                git.run("branch", "-D", branch)
            raise
        pushed = False
        if cfg.push:
            git.run(
                "push", "--quiet", "--end-of-options", rev_arg(cfg.remote), f"refs/heads/{branch}:refs/heads/{branch}"
            )
            pushed = True
        return {"branch": branch, "commit": sha, "base": base, "pushed": pushed, "remote": cfg.remote if pushed else ""}
