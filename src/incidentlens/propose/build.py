"""Fix proposals for one hypothesis, from what the caller read from git: diffs, specs, predictions.

Pure: `workflow/proposals.py` reads the repository (files, history, a revert made in a scratch worktree)
into a `RepoView`; everything here turns that into suggestions.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from incidentlens.model import Evidence, EvidenceKind, FaultKind, FixKind, FixProposal, Hypothesis, RiskLevel
from incidentlens.propose.diffs import unified_diff
from incidentlens.propose.expectation import fix_expectation
from incidentlens.propose.patches import CodePatch, guard_missing, reraise_swallowed, restore_timeouts
from incidentlens.propose.suggest import suggest_fixes

_CONFIG_KEY = re.compile(r"config (?P<key>[\w.\-]+): ")
MAX_LOCATIONS = 3


@dataclass(frozen=True, slots=True)
class RepoView:
    """A repository as the caller read it for one hypothesis."""

    head: str
    files: Mapping[str, str] = field(default_factory=dict)  # located files at `head`
    previous: Mapping[str, str] = field(default_factory=dict)  # the same files before the suspect commit
    revert_commit: str = ""
    revert_diff: str = ""  # `git revert --no-commit revert_commit` on `head`, as a diff
    config_files: Mapping[str, str] = field(default_factory=dict)  # files mentioning the changed config key


def config_key(change: Evidence) -> str:
    """The key a config change names (`... config KEY: old -> new`), or ''."""
    m = _CONFIG_KEY.search(change.summary) or _CONFIG_KEY.search(change.excerpt)
    return m.group("key") if m else ""


def exception_type(hypothesis: Hypothesis, evidence: Mapping[str, Evidence]) -> str:
    for e in hypothesis.supporting:
        if e in evidence and evidence[e].service == hypothesis.service:
            found = str(evidence[e].attributes.get("exception_type", ""))
            if found:
                return found
    return ""


def build_proposals(
    *,
    hypothesis: Hypothesis,
    evidence: Mapping[str, Evidence],
    view: RepoView | None,
    baseline_minutes: float,
) -> list[FixProposal]:
    """Revert, config rollback, rule-based patches and operations for one hypothesis, deduplicated by diff."""
    expectation, prediction = fix_expectation(hypothesis, evidence, baseline_minutes=baseline_minutes)
    common: dict[str, Any] = {"service": hypothesis.service, "expectation": expectation}
    if prediction is not None:
        common["prediction"] = prediction
    proposals: list[FixProposal] = []
    for p in suggest_fixes(hypothesis, dict(evidence)):
        if p.kind is FixKind.REVERT and view is not None and view.revert_diff:
            p = dataclasses.replace(
                p,
                diff=view.revert_diff,
                base_commit=view.head,
                action={**p.action, "commit": view.revert_commit},
                title=f"revert {view.revert_commit[:12]} in {hypothesis.service}",
            )
        elif p.kind is FixKind.CONFIG_ROLLBACK:
            p = _config_rollback(p, evidence, view)
        proposals.append(dataclasses.replace(p, **common))
    if view is not None and view.revert_diff and not any(p.kind is FixKind.REVERT for p in proposals):
        proposals.append(_revert_of_suspect(hypothesis, view, common))
    if view is not None:
        for patch in _code_patches(hypothesis, evidence, view):
            proposals.append(
                FixProposal(
                    id=f"fix-{hypothesis.id}-{patch.rule}-{len(proposals)}",
                    hypothesis_id=hypothesis.id,
                    kind=FixKind.CODE_PATCH,
                    title=f"{patch.rule.replace('-', ' ')} in {patch.path}",
                    rationale=patch.rationale,
                    risk=patch.risk,
                    evidence_ids=_evidence_of(hypothesis, evidence),
                    diff=unified_diff(patch.path, view.files[patch.path], patch.after),
                    action={"rule": patch.rule, "path": patch.path},
                    base_commit=view.head,
                    **common,
                )
            )
    seen: set[str] = set()
    unique: list[FixProposal] = []
    for p in proposals:
        key = p.diff or repr(sorted(p.action.items())) + p.kind
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _evidence_of(hypothesis: Hypothesis, evidence: Mapping[str, Evidence]) -> tuple[str, ...]:
    ranked = sorted((evidence[e] for e in hypothesis.supporting if e in evidence), key=lambda e: -e.score)
    return tuple(e.id for e in ranked[:4])


def _revert_of_suspect(hypothesis: Hypothesis, view: RepoView, common: Mapping[str, Any]) -> FixProposal:
    subject = next((c.subject for c in hypothesis.suspect_commits if c.sha == view.revert_commit), "")
    return FixProposal(
        id=f"fix-{hypothesis.id}-revert",
        hypothesis_id=hypothesis.id,
        kind=FixKind.REVERT,
        title=f"revert {view.revert_commit[:12]} in {hypothesis.service}" + (f" ({subject})" if subject else ""),
        rationale=f"the suspect commit {view.revert_commit[:12]} changed the code the failures point at",
        risk=RiskLevel.LOW if hypothesis.fault is FaultKind.CODE else RiskLevel.MEDIUM,
        evidence_ids=hypothesis.supporting[:4],
        diff=view.revert_diff,
        action={"service": hypothesis.service, "commit": view.revert_commit},
        base_commit=view.head,
        **common,
    )


def _config_rollback(p: FixProposal, evidence: Mapping[str, Evidence], view: RepoView | None) -> FixProposal:
    """A diff when the repository holds the changed value, else an action spec that restores it."""
    change = next(
        (evidence[e] for e in p.evidence_ids if e in evidence and evidence[e].kind is EvidenceKind.CHANGE), None
    )
    if change is None:
        return p
    key = config_key(change)
    previous, current = str(change.attributes.get("previous", "")), str(change.attributes.get("current", ""))
    action = {**p.action, "action": "set-config", "key": key, "value": previous}
    if view is not None and key and previous and current:
        line = re.compile(
            rf"^(?P<head>\s*{re.escape(key)}\s*[:=]\s*[\"']?){re.escape(current)}(?P<tail>[\"']?\s*(#.*)?)$", re.M
        )
        for path, text in sorted(view.config_files.items()):
            after, n = line.subn(lambda m: f"{m.group('head')}{previous}{m.group('tail')}", text)
            if n == 1:
                return dataclasses.replace(
                    p, diff=unified_diff(path, text, after), base_commit=view.head, action={**action, "path": path}
                )
    return dataclasses.replace(p, action=action)


def _code_patches(hypothesis: Hypothesis, evidence: Mapping[str, Evidence], view: RepoView) -> list[CodePatch]:
    patches: list[CodePatch] = []
    if hypothesis.fault is FaultKind.CODE:
        exc = exception_type(hypothesis, evidence)
        for loc in hypothesis.locations[:MAX_LOCATIONS]:
            text = view.files.get(loc.path)
            if text is None:
                continue
            for found in (
                guard_missing(path=loc.path, text=text, line=loc.line, exception_type=exc, function=loc.function),
                reraise_swallowed(path=loc.path, text=text, line=loc.line),
            ):
                if found is not None:
                    patches.append(found)
            if patches:
                break  # the deepest located frame is the one to patch
    for path, before in sorted(view.previous.items()):
        text = view.files.get(path)
        found = restore_timeouts(path=path, text=text, previous=before) if text is not None else None
        if found is not None:
            patches.append(found)
    return patches
