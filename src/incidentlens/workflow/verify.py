"""verify-fix: check an executed proposal's prediction against post-fix telemetry and record the outcome.

The telemetry is ingested with the same readers and counted with the same log query the analysis uses.
The failing signal the prediction names must be back at (or below) its normal rate, allowing one line
more, from `within_minutes` after the telemetry starts. The outcome goes on the proposal and, through
the hypothesis ledger, on its hypothesis; both with audit entries, in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from incidentlens.errors import InputError, TransitionError
from incidentlens.ingest.runner import ingest_paths
from incidentlens.model.approval import FixStatus
from incidentlens.model.enums import HypothesisStatus
from incidentlens.model.records import FixProposal, TimeRange
from incidentlens.store import fixes_repository as fixes
from incidentlens.store.database import Database
from incidentlens.telemetry.logqueries import log_message_groups
from incidentlens.telemetry.store import TelemetryStore
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.ledger import record_decision, refresh_title

NS_PER_MIN = 60 * 1_000_000_000
TOLERANCE_LINES = 1.0
TOLERANCE_FACTOR = 1.5


@dataclass(frozen=True, slots=True)
class Verification:
    proposal_id: str
    confirmed: bool
    observed: int
    allowed: float
    window_minutes: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": "confirmed" if self.confirmed else "refuted",
            "observed": self.observed,
            "allowed": round(self.allowed, 3),
            "window_minutes": round(self.window_minutes, 2),
            "detail": self.detail,
        }


def template_pattern(template: str) -> re.Pattern[str]:
    """A mined template (`<*>` for a parameter) as a regex over whole messages."""
    return re.compile("^" + ".+?".join(re.escape(part) for part in template.split("<*>")) + "$", re.S)


def measure(store: TelemetryStore, proposal: FixProposal) -> Verification:
    """Count the expectation's signal in the store and decide confirmed or refuted."""
    exp = proposal.expectation
    if not exp.get("signal") or not exp.get("service"):
        raise InputError(f"{proposal.id} has no checkable prediction (no failing signal was named)")
    service = exp["service"]
    bounds = store.rows(
        "SELECT min(t), max(t) FROM (SELECT ts_ns AS t FROM logs WHERE service = $1"
        " UNION ALL SELECT start_ns FROM spans WHERE service = $1)",
        [service],
    )
    if not bounds or bounds[0][0] is None:
        raise InputError(
            f"the post-fix telemetry has no logs or spans from {service}: nothing to check {proposal.id} against"
        )
    start, end = int(bounds[0][0]), int(bounds[0][1])
    grace = int(float(exp.get("within_minutes", "10")) * NS_PER_MIN)
    if end - start > 2 * grace:
        start += grace
    window = TimeRange(start, end)
    minutes = max(window.seconds / 60, 1.0)
    if exp["signal"] == "log_template":
        pattern = template_pattern(exp["template"])
        level = exp.get("level", "").upper()
        groups = log_message_groups(store, TimeRange(0, 0), window)
        observed = sum(
            g.incident_count
            for g in groups
            if g.service == service and (not level or g.level == level) and pattern.match(g.message)
        )
        what = f'{exp.get("level", "")} template "{exp["template"]}" on {service}'
    elif exp["signal"] == "error_spans":
        sql = "SELECT count(*) FROM spans WHERE service = $1 AND upper(status) = 'ERROR' AND start_ns BETWEEN $2 AND $3"
        params: list[Any] = [service, window.start_ns, window.end_ns]
        if exp.get("operation"):
            sql += " AND name = $4"
            params.append(exp["operation"])
        observed = int(store.rows(sql, params)[0][0])
        what = f"failing spans of {service}"
    else:
        raise InputError(f"{proposal.id}: unknown prediction signal {exp['signal']!r}")
    baseline = float(exp.get("baseline_per_min", "0"))
    allowed = baseline * minutes * TOLERANCE_FACTOR + TOLERANCE_LINES
    confirmed = observed <= allowed
    detail = (
        f"{what}: {observed} in {minutes:.1f} min of post-fix telemetry; normal rate {baseline:.2f}/min allows "
        f"{allowed:.1f} -> prediction {'confirmed' if confirmed else 'refuted'}"
    )
    return Verification(proposal.id, confirmed, observed, allowed, minutes, detail)


def verify_fix(
    db: Database, *, proposal_id: str, telemetry: Sequence[Path], actor: str, now: datetime
) -> tuple[Verification, list[str]]:
    """Ingest post-fix telemetry, check the prediction, record it on the proposal and its hypothesis."""
    with db.session(readonly=True) as session:
        stored = fixes.get_proposal(session, proposal_id=proposal_id)
    if stored.status not in (FixStatus.EXECUTED, FixStatus.CONFIRMED, FixStatus.REFUTED):
        raise TransitionError(f"{proposal_id} is {stored.status}: only an executed fix can be verified")
    with TelemetryStore() as store:
        ingest_paths(list(telemetry), store)
        result = measure(store, stored.proposal)
    notes: list[str] = []
    status = FixStatus.CONFIRMED if result.confirmed else FixStatus.REFUTED
    data = {**result.as_dict(), "verified_at": now.isoformat(), "telemetry": [str(p) for p in telemetry]}
    with db.session() as session:
        fixes.update_proposal(session, proposal_id=proposal_id, now=now, status=status, verification=data)
        append_audit(
            session,
            actor=actor,
            entity="fix_proposal",
            entity_id=proposal_id,
            action=f"prediction_{status}",
            at=now,
            incident_id=stored.incident_id,
            data=data,
        )
        try:
            record_decision(
                session,
                incident_id=stored.incident_id,
                hypothesis_id=stored.proposal.hypothesis_id,
                decision=HypothesisStatus.CONFIRMED if result.confirmed else HypothesisStatus.REFUTED,
                comment=f"verify-fix {proposal_id}: {result.detail}",
                actor=actor,
                at=now,
            )
        except TransitionError as exc:
            notes.append(f"hypothesis ledger unchanged: {exc}")
    refresh_title(db, stored.incident_id)
    return result, notes
