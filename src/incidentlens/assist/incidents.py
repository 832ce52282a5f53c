"""The workflow side of assistance: the recorded incident as the model's input, its budget, its egress record.

Every call's egress line is appended to the audit chain (entity `llm_call`, action `egress`), in the same
database as the incident: the console and `incidentlens audit show` list it, and the tokens and cost
already spent on the incident are summed from it, so the budget holds across commands and processes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson

from incidentlens.assist.assistant import Assistant, Budget
from incidentlens.assist.pack import EvidencePack, pack_from_brief
from incidentlens.assist.settings import AssistSettings, assist_settings
from incidentlens.errors import ConfigError, InputError
from incidentlens.report.assistance import EgressLine
from incidentlens.store import audit_store
from incidentlens.store.database import Database
from incidentlens.store.repository import get_brief, get_incident
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.config import Settings

__all__ = [
    "EGRESS_ACTION",
    "EGRESS_ENTITY",
    "assistant_for_incident",
    "egress_lines",
    "incident_pack",
    "record_egress",
    "require_assist",
]

EGRESS_ENTITY = "llm_call"
EGRESS_ACTION = "egress"
ACTOR = "incidentlens"


def require_assist(settings: Settings) -> AssistSettings:
    """The model configuration; a ConfigError saying how to add one when there is none."""
    chosen = assist_settings(settings)
    if chosen is None:
        where = settings.path or "the settings file (<workspace>/config.yaml)"
        raise ConfigError(
            f"no language model is configured: add an 'llm:' section to {where} (see docs/assist.md); "
            "everything else works without one"
        )
    return chosen


def egress_lines(db: Database, *, incident_id: str) -> list[EgressLine]:
    """The egress record of one incident, oldest first."""
    with db.session(readonly=True) as session:
        entries = [
            e
            for e in audit_store.iter_entries(session, incident_id=incident_id)
            if e.entity == EGRESS_ENTITY and e.action == EGRESS_ACTION
        ]
    lines = []
    for entry in entries:
        data = orjson.loads(entry.data)
        lines.append(
            EgressLine(
                **{
                    **data,
                    "evidence_ids": tuple(data.get("evidence_ids", ())),
                    "redactions": dict(data.get("redactions", {})),
                }
            )
        )
    return lines


def record_egress(db: Database, *, incident_id: str, lines: Iterable[EgressLine], at: datetime) -> None:
    """Append each call's egress line to the audit chain of the incident."""
    with db.session() as session:
        for line in lines:
            append_audit(
                session,
                actor=ACTOR,
                entity=EGRESS_ENTITY,
                entity_id=f"{line.purpose}:{line.provider}/{line.model}",
                action=EGRESS_ACTION,
                at=at,
                incident_id=incident_id,
                data=dataclasses.asdict(line),
            )


def assistant_for_incident(settings: AssistSettings, db: Database | None, *, incident_id: str | None) -> Assistant:
    """An assistant whose budget already counts what earlier calls on this incident spent."""
    budget = Budget(settings.budget_tokens, settings.budget_cost)
    if db is not None and incident_id is not None:
        for line in egress_lines(db, incident_id=incident_id):
            budget.spent_tokens += line.input_tokens + line.output_tokens
            budget.spent_cost += line.cost or 0.0
    return Assistant(settings, budget=budget)


def incident_pack(
    db: Database, *, incident_id: str, max_evidence: int, code: list[dict[str, Any]] | None = None
) -> EvidencePack:
    """The evidence report of the incident's latest investigation, with its other evidence after the cited."""
    detail = get_incident(db, incident_id)
    if not detail.investigations:
        raise InputError(f"{incident_id} has no recorded investigation to answer from")
    brief: Any = get_brief(db, investigation_id=detail.investigations[0].id)
    return pack_from_brief(
        brief if isinstance(brief, Mapping) else {},
        extra_evidence=detail.evidence,
        max_evidence=max_evidence,
        code=code or (),
    )
