"""Validation before anyone is asked: apply the proposal in a scratch worktree and run the tests there.

Also the `repositories` settings section (where each service's code lives and how it is tested), which
validation, proposal generation and the executors share.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from incidentlens.errors import ConfigError, PolicyError
from incidentlens.locate.catalog import CATALOG_FILE, parse_catalog
from incidentlens.locate.git import open_repository, scratch_worktree
from incidentlens.model.approval import FixStatus
from incidentlens.store import fixes_repository as fixes
from incidentlens.store.database import Database
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.config import Settings
from incidentlens.workflow.executors.command import run_argv
from incidentlens.workflow.investigations import recorded_repository

_REPO_KEYS = frozenset(
    {"path", "services", "test_command", "timeout_seconds", "default_branch", "remote", "push", "github"}
)
_GITHUB_KEYS = frozenset({"api_url", "owner", "repo", "token_env"})
OUTPUT_TAIL = 4_000


@dataclass(frozen=True, slots=True)
class GitHubConfig:
    owner: str
    repo: str
    api_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"


@dataclass(frozen=True, slots=True)
class RepoConfig:
    name: str
    path: Path
    services: tuple[str, ...] = ()
    test_command: tuple[str, ...] = ()
    timeout_seconds: float = 600.0
    default_branch: str = "main"
    remote: str = "origin"
    push: bool = False
    github: GitHubConfig | None = None


def repo_config(
    settings: Settings, service: str, *, required: bool = True, recorded: Path | None = None
) -> RepoConfig | None:
    """The repository of `service`: the entry named after it, one listing it in `services`, or the only one;
    else `recorded`, the repository `investigate --repo` recorded with the incident (no test command)."""
    section = settings.section("repositories")
    where = f"{settings.path or 'settings'}: repositories"
    chosen: tuple[str, Any] | None = None
    if service in section:
        chosen = (service, section[service])
    else:
        listing = [
            (k, v) for k, v in section.items() if isinstance(v, Mapping) and service in (v.get("services") or [])
        ]
        if len(listing) == 1:
            chosen = listing[0]
        elif not listing and len(section) == 1:
            chosen = next(iter(section.items()))
    if chosen is None and recorded is not None:
        return RepoConfig(name="recorded with the incident", path=recorded)
    if chosen is None:
        if required:
            raise ConfigError(f"{where}: no repository configured for service {service!r} (add repositories.{service})")
        return None
    return _parse_repo(str(chosen[0]), chosen[1], f"{where}.{chosen[0]}", base=settings.path)


def _parse_repo(name: str, value: Any, where: str, *, base: Path | None) -> RepoConfig:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: must be a mapping with at least 'path'")
    unknown = sorted(set(map(str, value)) - _REPO_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_REPO_KEYS))})")
    if not isinstance(value.get("path"), str) or not value["path"]:
        raise ConfigError(f"{where}: 'path' (the repository's folder) is required")
    path = Path(value["path"]).expanduser()
    if not path.is_absolute() and base is not None:
        path = base.parent / path
    command = value.get("test_command") or []
    if not isinstance(command, list) or not all(isinstance(a, str) and a for a in command):
        raise ConfigError(f"{where}: 'test_command' must be an argument list like [python, -m, pytest], not a string")
    timeout = value.get("timeout_seconds", 600)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"{where}: 'timeout_seconds' must be a positive number")
    push = value.get("push", False)
    if not isinstance(push, bool):
        raise ConfigError(f"{where}: 'push' must be true or false")
    github = None
    if value.get("github") is not None:
        gh = value["github"]
        if not isinstance(gh, Mapping) or set(map(str, gh)) - _GITHUB_KEYS or not gh.get("owner") or not gh.get("repo"):
            raise ConfigError(f"{where}.github: needs 'owner' and 'repo' (optional: api_url, token_env)")
        github = GitHubConfig(
            owner=str(gh["owner"]),
            repo=str(gh["repo"]),
            api_url=str(gh.get("api_url", "https://api.github.com")).rstrip("/"),
            token_env=str(gh.get("token_env", "GITHUB_TOKEN")),
        )
    return RepoConfig(
        name=name,
        path=path,
        services=tuple(str(s) for s in value.get("services") or []),
        test_command=tuple(command),
        timeout_seconds=float(timeout),
        default_branch=str(value.get("default_branch", "main")),
        remote=str(value.get("remote", "origin")),
        push=push,
        github=github,
    )


def is_production(settings: Settings, service: str) -> bool:
    """Whether the service catalog (`incidentlens.yaml` on the default branch) marks the service production."""
    cfg = repo_config(settings, service, required=False)
    if cfg is None or not cfg.path.exists():
        return False
    git = open_repository(cfg.path)
    text = git.show(cfg.default_branch, CATALOG_FILE)
    if text is None:
        return False
    entry = parse_catalog(text).get(service)
    return entry is not None and entry.tier.lower() == "production"


def validate_fix(
    db: Database, *, proposal_id: str, settings: Settings, actor: str, now: datetime
) -> fixes.StoredProposal:
    """Apply the proposal to its base commit in a scratch worktree, run the test command, record the result.

    A proposal without a diff is an action spec: it validates when it names its service and action.
    """
    with db.session(readonly=True) as session:
        stored = fixes.get_proposal(session, proposal_id=proposal_id)
    if not stored.intact:
        raise PolicyError(
            f"{proposal_id}: stored content no longer matches its hash; it was changed outside IncidentLens"
        )
    if stored.status not in (FixStatus.PROPOSED, FixStatus.VALIDATED, FixStatus.VALIDATION_FAILED):
        raise PolicyError(f"{proposal_id} is {stored.status}: only proposed or validated proposals are validated again")
    proposal = stored.proposal
    result: dict[str, Any] = {"validated_at": now.isoformat(), "content_hash": stored.content_hash}
    if not proposal.diff:
        ok = bool(proposal.action.get("action") or proposal.action.get("commit")) and bool(proposal.service)
        result.update({"apply_ok": None, "note": "action spec: nothing to apply", "spec_ok": ok})
    else:
        cfg = repo_config(settings, proposal.service, recorded=recorded_repository(db, stored.incident_id))
        assert cfg is not None  # required=True raises instead
        result.update(_apply_and_test(cfg, proposal.diff, proposal.base_commit or cfg.default_branch))
        # Validated means the diff applied AND the tests passed; a patch no test ran is not validated.
        ok = bool(result["apply_ok"]) and result.get("test_exit_code") == 0 and not result.get("timed_out")
    result["summary"] = validation_summary(result)
    status = FixStatus.VALIDATED if ok else FixStatus.VALIDATION_FAILED
    with db.session() as session:
        updated = fixes.update_proposal(session, proposal_id=proposal_id, now=now, status=status, validation=result)
        append_audit(
            session,
            actor=actor,
            entity="fix_proposal",
            entity_id=proposal_id,
            action=f"validation_{'passed' if ok else 'failed'}",
            at=now,
            incident_id=stored.incident_id,
            data={k: v for k, v in result.items() if k != "output_tail"},
        )
    return updated


def validation_summary(v: dict[str, Any] | None) -> str:
    """What a validation found, in exact words (never "apply None" or "tests exit None")."""
    if not v:
        return "not validated yet"
    if "apply_ok" in v and v["apply_ok"] is None:
        return (
            "action spec: nothing to apply; it names its service and action"
            if v.get("spec_ok")
            else "action spec incomplete: it must name its service and action"
        )
    if not v.get("apply_ok"):
        reason = str(v.get("apply_message") or "").strip()
        return "the patch does not apply" + (f": {reason}" if reason else "")
    took = f" in {float(v['duration_s']):.1f} s" if v.get("duration_s") is not None else ""
    if v.get("timed_out"):
        return f"the patch applies; the tests timed out{took}"
    code = v.get("test_exit_code")
    if code is None:
        return f"the patch applies, but no tests ran ({v.get('note') or 'no test_command configured'}): not validated"
    if code == 0:
        return f"the patch applies and the tests passed{took}"
    return f"the patch applies; the tests failed (exit {code}){took}"


def _apply_and_test(cfg: RepoConfig, diff: str, base: str) -> dict[str, Any]:
    git = open_repository(cfg.path)
    base_sha = git.commit_of(base)
    out: dict[str, Any] = {"base_commit": base_sha, "repository": cfg.name}
    with scratch_worktree(git, base_sha) as tree:
        reason = tree.apply_check(diff)
        out["apply_ok"] = not reason
        out["apply_message"] = reason
        if reason:
            return out
        tree.run("apply", "-", stdin=diff.encode())
        if not cfg.test_command:
            out.update({"test_exit_code": None, "note": "no test_command configured for this repository"})
            return out
        started = time.monotonic()
        ran = run_argv(cfg.test_command, cwd=tree.root, timeout_s=cfg.timeout_seconds)
        out.update(
            {
                "test_command": list(cfg.test_command),
                "test_exit_code": ran.exit_code,
                "timed_out": ran.timed_out,
                "duration_s": round(time.monotonic() - started, 3),
                "output_tail": ran.output[-OUTPUT_TAIL:],
            }
        )
    return out
