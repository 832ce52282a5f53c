"""What the incident page shows, read through the same workflow and store functions as the CLI.

Pictures are drawn from the stored brief (graph, exemplar trace, metric series), so they stay
available after the telemetry is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidentlens.assist.incidents import egress_lines
from incidentlens.errors import IncidentLensError
from incidentlens.model import Evidence
from incidentlens.model.enums import HypothesisStatus
from incidentlens.report.assistance import EgressLine
from incidentlens.report.pictures import brief_pictures
from incidentlens.store import fixes_repository as fixes
from incidentlens.store import jobs_repository as jobs
from incidentlens.store.database import Database
from incidentlens.store.repository import get_brief, get_incident
from incidentlens.store.rows import AuditEntry, IncidentDetail, IncidentFacts
from incidentlens.workflow.audit import audit_trail
from incidentlens.workflow.config import Settings
from incidentlens.workflow.fix_context import gate_context
from incidentlens.workflow.ledger import LedgerEntry, ledger_entries
from incidentlens.workflow.lifecycle import current_owner
from incidentlens.workflow.metrics import IncidentMetrics, incident_metrics
from incidentlens.workflow.policy import Verdict, evaluate
from incidentlens.workflow.proposals import describe, list_fixes

__all__ = ["FixView", "IncidentView", "diff_lines", "incident_view", "job_rows"]

ACTIVE_JOBS = (jobs.JobStatus.QUEUED, jobs.JobStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class FixView:
    data: dict[str, Any]  # `describe()` of the proposal, as `fix show --json` prints it
    verdict: Verdict | None  # the policy over the recorded decisions now; None when it cannot be evaluated
    policy_note: str
    decisions: tuple[Any, ...]
    executions: tuple[fixes.ExecutionRow, ...]
    diff: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class IncidentView:
    detail: IncidentDetail
    metrics: IncidentMetrics
    owner: str | None
    brief: Mapping[str, Any]
    ledger: list[LedgerEntry]
    evidence: Mapping[str, Evidence]
    fixes: list[FixView]
    audit: list[AuditEntry]
    jobs: list[jobs.JobRow]
    graph_svg: str
    waterfall_svg: str
    waterfall_evidence: str
    sparklines: Mapping[str, str] = field(default_factory=dict)
    egress: list[EgressLine] = field(default_factory=list)  # every language-model call on this incident

    @property
    def jobs_active(self) -> bool:
        return any(j.status in ACTIVE_JOBS for j in self.jobs)


def diff_lines(diff: str) -> tuple[tuple[str, str], ...]:
    """(css class, line) per diff line: file headers, hunks, additions, deletions, context."""
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---", "diff ", "index ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        out.append((kind, line))
    return tuple(out)


def job_rows(db: Database, *, incident_id: str) -> list[jobs.JobRow]:
    with db.session(readonly=True) as session:
        return jobs.list_jobs(session, incident_id=incident_id, limit=5)


def _fix_views(db: Database, settings: Settings, incident_id: str, now: datetime) -> list[FixView]:
    views = []
    for stored in list_fixes(db, incident_id=incident_id):
        with db.session(readonly=True) as session:
            decisions = fixes.list_decisions(session, proposal_id=stored.proposal.id)
            executions = fixes.list_executions(session, proposal_id=stored.proposal.id)
        verdict, note = None, ""
        try:
            context = gate_context(db, settings, stored.proposal.id)
            verdict = evaluate(
                context.policy,
                proposal=stored.proposal,
                proposal_hash=stored.content_hash,
                decisions=decisions,
                production=context.production,
                now=now,
            )
            note = context.policy.source + (" (production service)" if context.production else "")
        except IncidentLensError as exc:  # a broken policy file must not hide the proposal: the page names it
            note = f"policy cannot be evaluated: {exc}"
        views.append(
            FixView(
                describe(stored), verdict, note, tuple(decisions), tuple(executions), diff_lines(stored.proposal.diff)
            )
        )
    return views


def incident_view(db: Database, *, incident_id: str, settings: Settings, now: datetime) -> IncidentView:
    """Everything the incident page shows; raises NotFoundError for an unknown incident."""
    detail = get_incident(db, incident_id)
    brief: Mapping[str, Any] = {}
    if detail.investigations:
        stored = get_brief(db, investigation_id=detail.investigations[0].id)
        brief = stored if isinstance(stored, dict) else {}
    ledger = ledger_entries(detail)
    live = [e for e in ledger if e.status is not HypothesisStatus.REFUTED]
    top = live[0].hypothesis.service if live and not brief.get("abstained") else None
    pictures = brief_pictures(brief, top)
    facts_metrics = incident_metrics(IncidentFacts(detail.incident, detail.status_events, detail.assignments))
    return IncidentView(
        detail=detail,
        metrics=facts_metrics,
        owner=current_owner(detail.assignments),
        brief=brief,
        ledger=ledger,
        evidence={e.id: e for e in detail.evidence},
        fixes=_fix_views(db, settings, incident_id, now),
        audit=audit_trail(db, incident_id=incident_id),
        jobs=job_rows(db, incident_id=incident_id),
        graph_svg=pictures.graph,
        waterfall_svg=pictures.waterfall,
        waterfall_evidence=pictures.waterfall_evidence,
        sparklines=pictures.sparklines,
        egress=egress_lines(db, incident_id=incident_id),
    )
