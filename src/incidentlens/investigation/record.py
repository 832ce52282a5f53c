"""Recording an investigation's result in the workflow database: the one place every edge records through."""

from __future__ import annotations

from typing import Any

from incidentlens.investigation.request import InvestigationResult
from incidentlens.model import Severity
from incidentlens.report.render import render_json
from incidentlens.store.database import Database
from incidentlens.store.rows import RecordedInvestigation
from incidentlens.workflow.investigations import record_investigation


def record_result(
    db: Database,
    result: InvestigationResult,
    *,
    workspace: str,
    inputs: dict[str, Any],
    into_incident: str | None = None,
    detected_ns: int | None = None,
    service: str | None = None,
    severity: Severity | None = None,
) -> RecordedInvestigation:
    """Store the brief, evidence and hypotheses; onto `into_incident` when given, else by alert fingerprint.

    `detected_ns`, `service` and `severity` stand in when the brief has none (an incident an alert opened).
    """
    brief = result.brief
    top = result.hypotheses[0] if result.hypotheses else None
    brief_severity = Severity(brief.severity) if brief.severity in set(Severity) else None
    sources = [{"name": s.name, "kind": s.kind, "rows": dict(s.rows), "failed": s.failed} for s in brief.sources]
    return record_investigation(
        db,
        title=brief.title,
        service=top.service if top else service,
        severity=brief_severity or severity or Severity.UNKNOWN,
        detected_ns=detected_ns if detected_ns is not None else (brief.alert_ns or brief.onset_ns),
        alert_fingerprint=brief.alert_fingerprint,
        evidence=list(result.evidence.values()),
        hypotheses=list(result.hypotheses),
        brief_json=render_json(brief),
        workspace=workspace,
        inputs={**inputs, **({"sources": sources} if sources else {})},
        into_incident=into_incident,
    )
