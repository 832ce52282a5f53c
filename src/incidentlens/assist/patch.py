"""A model-drafted patch for a code-fault hypothesis, stored as one more fix proposal.

It is labelled (author `model:<provider>/<model>`, title prefixed MODEL-DRAFTED), then validated, approved and
executed exactly like any other proposal (`fix validate|approve|execute`): the model gets no way to do any of
that itself. The code it sees is the hypothesis's located regions at the repository's HEAD, redacted like all
other input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from incidentlens.assist.assistant import Assistant
from incidentlens.assist.incidents import incident_pack, record_egress
from incidentlens.assist.prompt import Purpose
from incidentlens.errors import InputError, RepositoryError
from incidentlens.locate.git import open_repository
from incidentlens.model import FaultKind, FixKind, FixProposal, Hypothesis, RiskLevel
from incidentlens.propose.diffs import files_in_diff
from incidentlens.report.assistance import MODEL_LABEL, Assistance
from incidentlens.store import fixes_repository as fixes
from incidentlens.store.database import Database
from incidentlens.store.repository import get_incident
from incidentlens.workflow.config import Settings
from incidentlens.workflow.investigations import recorded_repository
from incidentlens.workflow.proposals import store_proposals
from incidentlens.workflow.validate import repo_config

__all__ = ["DraftedPatch", "draft_patch"]

CONTEXT_LINES = 30
MAX_FILES = 3


@dataclass(frozen=True)
class DraftedPatch:
    assistance: Assistance
    proposal: fixes.StoredProposal | None
    rejected: str = ""


def draft_patch(
    db: Database, assistant: Assistant, *, incident_id: str, settings: Settings, now: datetime, hypothesis: str = ""
) -> DraftedPatch:
    """Ask the model for a patch for `hypothesis` (default: the leading code-fault one) and store it as a proposal."""
    detail = get_incident(db, incident_id)
    if not detail.investigations:
        raise InputError(f"{incident_id} has no recorded investigation")
    latest = detail.investigations[0].id
    candidates = [h.hypothesis for h in detail.hypotheses if h.investigation_id == latest]
    chosen = _choose(candidates, hypothesis, incident_id)
    code = _code_context(chosen, settings=settings, recorded=recorded_repository(db, incident_id))
    pack = incident_pack(db, incident_id=incident_id, max_evidence=assistant.settings.max_evidence, code=code)
    drafted = assistant.assist(pack, Purpose.PATCH, target=chosen.id)
    record_egress(db, incident_id=incident_id, lines=drafted.assistance.egress, at=now)
    patch = drafted.patch
    if patch is None:
        return DraftedPatch(drafted.assistance, None, drafted.assistance.fallback or "the model drafted no patch")
    if "rejected" in patch:
        return DraftedPatch(drafted.assistance, None, str(patch["rejected"]))
    diff = str(patch["diff"]).strip() + "\n"
    if not files_in_diff(diff) or "@@" not in diff:
        return DraftedPatch(drafted.assistance, None, "the model's patch is not a unified diff")
    proposal = FixProposal(
        id="",
        hypothesis_id=chosen.id,
        kind=FixKind.CODE_PATCH,
        title=f"{MODEL_LABEL}: {patch['title']}",
        rationale=" ".join(f"{c.text} [{', '.join(c.evidence)}]" for c in drafted.assistance.claims)
        or "drafted by a language model",
        risk=RiskLevel.HIGH,
        evidence_ids=tuple(patch["evidence"]),
        diff=diff,
        service=chosen.service,
        author=f"model:{assistant.provider.name}/{assistant.provider.model}",
    )
    stored = store_proposals(
        db,
        incident_id=incident_id,
        investigation_id=latest,
        proposals=[proposal],
        now=now,
        audit_extra={"drafted_by": "model"},
    )
    if not stored:
        return DraftedPatch(drafted.assistance, None, "the same patch is already proposed")
    return DraftedPatch(drafted.assistance, stored[0])


def _choose(candidates: list[Hypothesis], wanted: str, incident_id: str) -> Hypothesis:
    if wanted:
        for h in candidates:
            if h.id == wanted:
                if h.fault is not FaultKind.CODE:
                    raise InputError(f"{wanted} claims a {h.fault.value} fault, not a code fault: no patch to draft")
                return h
        raise InputError(f"{incident_id} has no hypothesis {wanted} in its latest investigation")
    for h in candidates:
        if h.fault is FaultKind.CODE:
            return h
    raise InputError(f"{incident_id} has no code-fault hypothesis to draft a patch for")


def _code_context(h: Hypothesis, *, settings: Settings, recorded: Path | None) -> list[dict[str, Any]]:
    """The located regions of the hypothesis at HEAD (the snippet alone when no repository can be read)."""
    cfg = repo_config(settings, h.service, required=False, recorded=recorded)
    out: list[dict[str, Any]] = []
    for loc in h.locations[:MAX_FILES]:
        text = None
        if cfg is not None:
            try:
                text = open_repository(cfg.path).show("HEAD", loc.path)
            except RepositoryError:
                text = None
        if text is None:
            out.append({"path": loc.path, "line": loc.line, "snippet": loc.snippet})
            continue
        lines = text.splitlines()
        start = max(0, loc.line - 1 - CONTEXT_LINES)
        region = "\n".join(f"{i + 1}: {line}" for i, line in enumerate(lines[start : loc.line + CONTEXT_LINES], start))
        out.append({"path": loc.path, "line": loc.line, "lines": region, "why": loc.why})
    if not out:
        raise InputError(f"{h.id} has no located code: investigate with --repo to locate it first")
    return out
