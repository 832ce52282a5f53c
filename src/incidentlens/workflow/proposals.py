"""Fix proposals per incident: read the repository for the leading hypotheses, build, store, audit.

Generated on demand (`fix list` creates them for the incident's latest investigation when none exist
for it yet), so `investigate` stays fast and needs no repository settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from incidentlens.errors import RepositoryError
from incidentlens.locate.git import Git, open_repository, scratch_worktree
from incidentlens.model import Evidence, EvidenceKind, FixProposal, Hypothesis
from incidentlens.propose.build import RepoView, build_proposals, config_key
from incidentlens.store import fixes_repository as fixes
from incidentlens.store.database import Database
from incidentlens.store.repository import get_brief, get_incident
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.config import Settings
from incidentlens.workflow.validate import repo_config, validation_summary

TOP_HYPOTHESES = 2
SUSPECT_WINDOW_NS = 72 * 3600 * 1_000_000_000
MAX_CONFIG_FILES = 5
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")


def list_fixes(db: Database, *, incident_id: str) -> list[fixes.StoredProposal]:
    with db.session(readonly=True) as session:
        return fixes.list_proposals(session, incident_id=incident_id)


def get_fix(db: Database, *, proposal_id: str) -> fixes.StoredProposal:
    with db.session(readonly=True) as session:
        return fixes.get_proposal(session, proposal_id=proposal_id)


def generate_proposals(
    db: Database, *, incident_id: str, settings: Settings, now: datetime, notes: list[str] | None = None
) -> list[fixes.StoredProposal]:
    """Proposals for the incident's latest investigation (top hypotheses), stored once; returns the new ones.

    Repository problems (none configured, a revert that conflicts) leave proposals without diffs and
    are added to `notes`, not raised: the suggestions that need no repository are still useful.
    """
    detail = get_incident(db, incident_id)
    if not detail.investigations:
        return []
    latest = detail.investigations[0]
    with db.session(readonly=True) as session:
        if any(p.investigation_id == latest.id for p in fixes.list_proposals(session, incident_id=incident_id)):
            return []
    brief = get_brief(db, investigation_id=latest.id)
    baseline = brief.get("baseline") if isinstance(brief, dict) else None
    baseline_minutes = (baseline[1] - baseline[0]) / 60e9 if baseline else 30.0
    onset_ns = int(brief.get("onset_ns") or 0) if isinstance(brief, dict) else 0
    evidence = {e.id: e for e in detail.evidence}
    hypotheses = [h.hypothesis for h in detail.hypotheses if h.investigation_id == latest.id][:TOP_HYPOTHESES]
    where = next(
        (i.input_summary.get("repository") for i in detail.investigations if i.input_summary.get("repository")), None
    )
    recorded = Path(where) if isinstance(where, str) else None
    built = []
    for h in hypotheses:
        view = None
        try:
            view = read_repo_view(h, evidence, settings=settings, onset_ns=onset_ns, recorded=recorded)
        except RepositoryError as exc:
            if notes is not None:
                notes.append(f"{h.id}: repository not read: {exc}")
        built.extend(build_proposals(hypothesis=h, evidence=evidence, view=view, baseline_minutes=baseline_minutes))
    return store_proposals(db, incident_id=incident_id, investigation_id=latest.id, proposals=built, now=now)


def store_proposals(
    db: Database,
    *,
    incident_id: str,
    investigation_id: int,
    proposals: list[FixProposal],
    now: datetime,
    audit_extra: Mapping[str, str] | None = None,
) -> list[fixes.StoredProposal]:
    """Store new proposals and their `proposed` audit entries in one transaction; returns the ones not already
    proposed (the same content is stored once)."""
    with db.session() as session:
        stored = fixes.insert_proposals(
            session, incident_id=incident_id, investigation_id=investigation_id, proposals=proposals, now=now
        )
        for item in stored:
            append_audit(
                session,
                actor=item.proposal.author,
                entity="fix_proposal",
                entity_id=item.proposal.id,
                action="proposed",
                at=now,
                incident_id=incident_id,
                data={
                    "kind": item.proposal.kind,
                    "hypothesis": item.proposal.hypothesis_id,
                    "hash": item.content_hash,
                    **(audit_extra or {}),
                },
            )
    return stored


def read_repo_view(
    hypothesis: Hypothesis,
    evidence: Mapping[str, Evidence],
    *,
    settings: Settings,
    onset_ns: int,
    recorded: Path | None = None,
) -> RepoView | None:
    """What the builders need from git: located files, the suspect commit's revert, config mentions."""
    cfg = repo_config(settings, hypothesis.service, required=False, recorded=recorded)
    if cfg is None:
        return None
    git = open_repository(cfg.path)
    head = git.commit_of(cfg.default_branch)
    commit = _commit_to_revert(git, hypothesis, evidence, head=head, onset_ns=onset_ns)
    revert_diff, touched = "", tuple[str, ...]()
    if commit:
        touched = tuple(
            p for p in git.run("show", "--format=", "--name-only", "--end-of-options", commit).splitlines() if p
        )
        revert_diff = _revert_diff(git, head, commit)
    paths = [*dict.fromkeys([*(loc.path for loc in hypothesis.locations), *touched])]
    files = git.read_many(head, paths)
    previous = git.read_many(f"{commit}^", list(touched)) if commit else {}
    config_files: dict[str, str] = {}
    for change in (
        evidence[e] for e in hypothesis.supporting if e in evidence and evidence[e].kind is EvidenceKind.CHANGE
    ):
        key = config_key(change)
        if key:
            hits = {hit.path for hit in git.grep_fixed([key], rev=head)}
            config_files.update(git.read_many(head, sorted(hits)[:MAX_CONFIG_FILES]))
    return RepoView(head, files, previous, commit, revert_diff, config_files)


def _commit_to_revert(
    git: Git, hypothesis: Hypothesis, evidence: Mapping[str, Evidence], *, head: str, onset_ns: int
) -> str:
    """The deploy's commit if the repository has it, else the first suspect commit close before the onset."""
    candidates: list[str] = []
    for e in hypothesis.supporting:
        item = evidence.get(e)
        if item is not None and item.kind is EvidenceKind.CHANGE and item.attributes.get("commit"):
            candidates.append(str(item.attributes["commit"]))
    candidates.extend(
        c.sha for c in hypothesis.suspect_commits if not onset_ns or 0 <= onset_ns - c.ts_ns <= SUSPECT_WINDOW_NS
    )
    for sha in candidates:
        if not _SHA.fullmatch(sha):
            continue  # a commit from telemetry is a hex sha; anything else (an option, a ref name) is ignored
        found = git.verify_commit(sha)
        if found and _is_ancestor(git, found, head):
            return found
    return ""


def _is_ancestor(git: Git, commit: str, head: str) -> bool:
    try:
        git.run("merge-base", "--is-ancestor", "--end-of-options", commit, head)
    except RepositoryError:
        return False
    return True


def _revert_diff(git: Git, head: str, commit: str) -> str:
    """`git revert --no-commit` in a scratch worktree; '' when the revert conflicts."""
    with scratch_worktree(git, head) as tree:
        try:
            tree.run("revert", "--no-commit", "--end-of-options", commit)
        except RepositoryError:
            return ""
        return tree.run("diff", "--cached", "--binary", "HEAD")


def describe(stored: fixes.StoredProposal) -> dict[str, Any]:
    """Plain data for `fix show --json` and reports."""
    p = stored.proposal
    return {
        "id": p.id,
        "label": "SUGGESTION",
        "incident": stored.incident_id,
        "hypothesis": p.hypothesis_id,
        "kind": p.kind.value,
        "status": stored.status.value,
        "title": p.title,
        "rationale": p.rationale,
        "risk": p.risk.value,
        "service": p.service,
        "author": p.author,
        "evidence_ids": list(p.evidence_ids),
        "base_commit": p.base_commit,
        "diff": p.diff,
        "action": dict(p.action),
        "prediction": None
        if p.prediction is None
        else {
            "statement": p.prediction.statement,
            "confirms_if": p.prediction.confirms_if,
            "refutes_if": p.prediction.refutes_if,
        },
        "expectation": dict(p.expectation),
        "content_hash": stored.content_hash,
        "validation": stored.validation,
        "validation_summary": validation_summary(stored.validation) if stored.validation else "",
        "verification": stored.verification,
    }
