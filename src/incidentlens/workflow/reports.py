"""Read what a postmortem or status update needs from the workflow database and settings (the I/O side
of `report/postmortem.py` and `report/status.py`).

The audit chain is verified first: a report whose references point into a chain that does not verify
would lend its authority to edited records, so that is refused (AuditIntegrityError, exit 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from incidentlens.errors import ConfigError
from incidentlens.report.facts import ReportInputs
from incidentlens.report.postmortem import Postmortem, SloTarget, build_postmortem
from incidentlens.report.status import StatusUpdate, build_status_update
from incidentlens.store import audit_store
from incidentlens.store import fixes_repository as fixes
from incidentlens.store.database import Database
from incidentlens.store.repository import get_brief, get_incident
from incidentlens.store.rows import IncidentFacts
from incidentlens.workflow.audit import check_audit
from incidentlens.workflow.config import Settings
from incidentlens.workflow.ledger import ledger_entries
from incidentlens.workflow.metrics import DEFINITIONS, incident_metrics

__all__ = ["ReportSettings", "load_postmortem", "load_status_update", "report_inputs", "report_settings"]

TEMPLATES_KEY = "templates_dir"
SLO_KEY = "slo"
_SLO_KEYS = frozenset({"target", "window_days"})


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """Where user templates live (None: the built-in ones) and the SLO the error budget is measured against."""

    templates_dir: Path | None = None
    slo: SloTarget = field(default_factory=SloTarget)


def report_settings(
    settings: Settings, *, templates_dir: Path | None = None, slo_target: float | None = None
) -> ReportSettings:
    """Command-line values win over the settings file's `templates_dir` and `slo: {target, window_days}`."""
    where = str(settings.path) if settings.path is not None else "settings"
    chosen = templates_dir
    if chosen is None and settings.raw.get(TEMPLATES_KEY) is not None:
        value = settings.raw[TEMPLATES_KEY]
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: '{TEMPLATES_KEY}' must be a folder path")
        chosen = Path(value)
        if not chosen.is_absolute() and settings.path is not None:
            chosen = settings.path.parent / chosen
    section = settings.section(SLO_KEY)
    unknown = sorted(set(map(str, section)) - _SLO_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: '{SLO_KEY}' has unknown key(s) {', '.join(unknown)} (allowed: target, window_days)"
        )
    target = slo_target if slo_target is not None else _number(section.get("target", 99.9), f"{SLO_KEY}.target", where)
    window = _number(section.get("window_days", 30), f"{SLO_KEY}.window_days", where)
    return ReportSettings(templates_dir=chosen, slo=SloTarget(target_percent=target, window_days=window))


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: '{key}' must be a number, not {value!r}")
    return float(value)


def report_inputs(db: Database, *, incident_id: str) -> ReportInputs:
    """The incident's ledger, its audit entries, fixes, MTTx and latest brief; the chain must verify."""
    detail = get_incident(db, incident_id)
    verified = check_audit(db)
    with db.session(readonly=True) as session:
        audit = tuple(audit_store.iter_entries(session, incident_id=incident_id))
        proposals = tuple(fixes.list_proposals(session, incident_id=incident_id))
    brief: Any = get_brief(db, investigation_id=detail.investigations[0].id) if detail.investigations else {}
    facts = IncidentFacts(incident=detail.incident, status_events=detail.status_events, assignments=detail.assignments)
    return ReportInputs(
        detail=detail,
        ledger=tuple(ledger_entries(detail)),
        audit=audit,
        proposals=proposals,
        metrics=incident_metrics(facts),
        metric_definitions={metric.value: text for metric, text in DEFINITIONS.items()},
        brief=brief if isinstance(brief, Mapping) else {},
        audit_head=verified.head_hash or "",
    )


def load_postmortem(db: Database, *, incident_id: str, now: datetime, slo: SloTarget | None = None) -> Postmortem:
    return build_postmortem(report_inputs(db, incident_id=incident_id), now=now, slo=slo)


def load_status_update(
    db: Database, *, incident_id: str, now: datetime, next_update_minutes: int | None = 30
) -> StatusUpdate:
    return build_status_update(
        report_inputs(db, incident_id=incident_id), now=now, next_update_minutes=next_update_minutes
    )
